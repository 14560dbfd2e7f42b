/* cli.c -- the command line: eval, verify and rules over the library API. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "coverage.h"
#include "diff.h"
#include "golden.h"
#include "messages.h"
#include "ruleset.h"
#include "spinerules.h"
#include "util.h"

#define DEFAULT_RULESET "spine-metastasis-lung"

/* Exit statuses, documented in docs/cli.md and --help. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* The help: an overview (spinerules --help) and one page per command
 * (spinerules <command> --help). docs/spinerules.1 describes the same
 * options: the test help_man checks that the two name the same ones. */
static const char usage_text[] =
    "usage: spinerules <command> [options] [FILE...]\n"
    "\n"
    "Decision support for the surgery of spinal metastases of lung cancer:\n"
    "evaluates patient cases with a versioned rule set written in Lua.\n"
    "\n"
    "commands:\n"
    "  eval   [--rules DIR] [--format jsonl|yaml|csv|html|text] [--lang fr|en]\n"
    "         [--input-format auto|yaml|jsonl|csv] [--jobs N] [-o FILE] [FILE...|-]\n"
    "                                 evaluate cases (YAML stream, JSON Lines or CSV)\n"
    "  verify [--rules DIR] [--coverage]\n"
    "                                 run the rule set's golden cases\n"
    "  check  [--rules DIR] [--strict] [--lang fr|en]\n"
    "                                 find what is wrong in a rule set before any\n"
    "                                 case runs\n"
    "  rules  [DIR...]                list the installed rule sets\n"
    "  diff   --from DIR --to DIR [--format text|markdown|json] [-o FILE] FILE...\n"
    "                                 audit: what changes between two versions of\n"
    "                                 a rule set, case by case\n"
    "\n"
    "'spinerules <command> --help' describes a command and its options.\n"
    "\n"
    "options:\n"
    "  -h, --help        show this help\n"
    "  --version [--rules DIR]\n"
    "                    show the engine version, and the name, version and digest\n"
    "                    of the default rule set (or of the one --rules names)\n"
    "\n"
    "exit status: 0 all good; 1 some cases or golden cases failed (all others are\n"
    "still evaluated and written), or, for diff, the outcome of some case changed;\n"
    "2 usage, rule-set or I/O error.\n";

#define RULES_OPTION_HELP                                                                                 \
    "  --rules DIR       a rule set version folder (with manifest.yaml) or a rule set\n"                    \
    "                    folder (its newest version is used); default: the newest\n"                       \
    "                    version of " DEFAULT_RULESET " found beside the executable.\n"                      \
    "                    --rules sha256:HEX picks the installed rule set with that\n"                      \
    "                    digest (as a result records it; a unique prefix will do)\n"

static const char eval_usage[] =
    "usage: spinerules eval [options] [FILE...|-]\n"
    "\n"
    "Evaluates every case of each FILE (standard input for '-' or no FILE) and\n"
    "writes one result per case, in input order, on standard output. A case that\n"
    "cannot be read or evaluated gets an error record in its place and a\n"
    "diagnostic on standard error (file:line:col: error: ...); the run goes on.\n"
    "\n"
    "options:\n" RULES_OPTION_HELP
    "  --format FMT      result format: jsonl (default), yaml, csv (one row per case,\n"
    "                    for spreadsheets), html (one self-contained page, one card\n"
    "                    per case, that prints well) or text (one section per case,\n"
    "                    to paste into a meeting record)\n"
    "  --lang L          fr or en: language of the html and text reports (default\n"
    "                    fr, the language of the rule set's labels) and of the\n"
    "                    messages (default en)\n"
    "  --input-format F  auto (default: .csv files are CSV, .jsonl files or '{' first\n"
    "                    JSON Lines, anything else YAML), yaml, jsonl or csv\n"
    "  -j, --jobs N      evaluate with N workers (default: one per core); the output\n"
    "                    is the same, in input order, whatever N\n"
    "  --progress        show progress on stderr (default: only when stderr is a\n"
    "                    terminal); --no-progress to hide it\n"
    "  -o, --output FILE write results to FILE (replaced only when the run completes)\n"
    "  -h, --help        show this help\n"
    "\n"
    "exit status: 0 every case evaluated; 1 some cases failed (all others are still\n"
    "evaluated and written); 2 usage, rule-set or I/O error.\n";

static const char verify_usage[] =
    "usage: spinerules verify [--rules DIR] [--coverage]\n"
    "\n"
    "Runs the rule set's golden cases (golden/*.yaml beside its manifest) and\n"
    "compares each result with the expected one, field by field.\n"
    "\n"
    "options:\n" RULES_OPTION_HELP
    "  --coverage        also list the rows, bands, contraindication branches and\n"
    "                    decision paths the golden cases miss, and those no case can\n"
    "                    reach; a reachable one that is missed fails the run\n"
    "  -h, --help        show this help\n"
    "\n"
    "exit status: 0 every golden case passes; 1 some fail (or, with --coverage,\n"
    "some reachable point is missed); 2 usage or rule-set error.\n";

static const char check_usage[] =
    "usage: spinerules check [--rules DIR] [--strict] [--lang fr|en]\n"
    "\n"
    "Finds what is wrong in a rule set before any case runs: the manifest, the\n"
    "rule files' syntax, what the sandbox would refuse, rows and bands with gaps\n"
    "or overlaps, unreachable bands, points beyond the declared maximum, labels,\n"
    "sources, the case fields and values conditions name, and what the rules do\n"
    "on generated cases. One line per finding on standard output,\n"
    "file:line:col: error|warning: message, then the counts.\n"
    "\n"
    "options:\n" RULES_OPTION_HELP
    "  --strict          exit 1 when there are warnings\n"
    "  --lang L          language of the findings: en (default) or fr\n"
    "  -h, --help        show this help\n"
    "\n"
    "exit status: 0 no error (and, with --strict, no warning); 1 warnings with\n"
    "--strict; 2 errors, or a usage or I/O error.\n";

static const char rules_usage[] =
    "usage: spinerules rules [DIR...]\n"
    "\n"
    "Lists the rule sets installed beside the executable, or those under each DIR\n"
    "(a rules/ folder: DIR/<name>/<version>/manifest.yaml), one a line, sorted by\n"
    "name and version: name, version, status, digest, folder.\n"
    "\n"
    "options:\n"
    "  -h, --help        show this help\n"
    "\n"
    "exit status: 0 all listed; 1 some rule set could not be opened (said on\n"
    "standard error); 2 a folder cannot be read.\n";

static const char diff_usage[] =
    "usage: spinerules diff --from DIR --to DIR [options] FILE...\n"
    "\n"
    "Audit: evaluates the cases of each FILE under both rule sets, reports what\n"
    "changed in the rules (rows, points, band limits, labels, contraindication\n"
    "kinds, decision steps) and, grouped by clinical field, every case whose\n"
    "outcome changes.\n"
    "\n"
    "options:\n"
    "  --from DIR        the rule set before: a version folder, a rule set folder\n"
    "                    (its newest version) or sha256:HEX, as for --rules\n"
    "  --to DIR          the rule set after\n"
    "  --format FMT      report format: text (default), markdown (an audit file) or\n"
    "                    json\n"
    "  --input-format F  auto (default), yaml or jsonl\n"
    "  -o, --output FILE write the report to FILE\n"
    "  -h, --help        show this help\n"
    "\n"
    "exit status: 0 no case's outcome changes; 1 some does; 2 usage, rule-set or\n"
    "I/O error.\n";

/* One line on stderr, in the language of --lang (messages.h translates the
 * English format, and a "%s" message given whole), then the hint. */
static int usage_error(const char *fmt, const char *arg)
{
    fputs("spinerules: ", stderr);
    fprintf(stderr, sr_tr(fmt), strcmp(fmt, "%s") == 0 ? sr_tr(arg) : arg);
    fprintf(stderr, "\n%s\n", sr_msg(SR_MSG_CLI_TRY_HELP));
    return EXIT_USAGE;
}

/* ---- finding rule sets ---- */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_manifest(const char *dir)
{
    char *p = sr_asprintf("%s/manifest.yaml", dir);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

/* The newest version folder (with a manifest) under dir, or NULL. */
static char *newest_version(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return NULL;
    char *best = NULL;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char *p = sr_asprintf("%s/%s", dir, de->d_name);
        if (p && has_manifest(p) && (!best || sr_semver_cmp(strrchr(best, '/') + 1, de->d_name) < 0)) {
            free(best);
            best = p;
        } else {
            free(p);
        }
    }
    closedir(dp);
    return best;
}

/* Folders where rules/ may live, from the executable's location. */
static char *data_root(const char *argv0)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        if (!argv0 || !realpath(argv0, exe))
            return NULL;
    } else {
        exe[n] = '\0';
    }
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0'; /* the executable's folder */
    const char *candidates[] = {"%s/../share/spinerules", "%s/..", "%s"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char *root = sr_asprintf(candidates[i], exe);
        char *rules = root ? sr_asprintf("%s/rules", root) : NULL;
        int ok = rules && is_dir(rules);
        free(rules);
        char real[PATH_MAX];
        if (ok && realpath(root, real)) { /* no "..": rule file positions stay short */
            free(root);
            return sr_strdup(real);
        }
        if (ok)
            return root;
        free(root);
    }
    return NULL;
}

char *sr_default_rules_dir(const char *argv0)
{
    char *root = data_root(argv0);
    if (!root)
        return NULL;
    char *set = sr_asprintf("%s/rules/%s", root, DEFAULT_RULESET);
    free(root);
    char *v = set ? newest_version(set) : NULL;
    free(set);
    return v;
}

/* The installed rule set whose digest is (or starts with) digest, or NULL
 * after saying why on stderr. */
static char *find_by_digest(const char *digest, const char *argv0)
{
    if (strlen(digest) < 7 + 8) {
        fprintf(stderr, "spinerules: error: %s: give at least 8 hexadecimal digits of the digest\n", digest);
        return NULL;
    }
    char *root = data_root(argv0);
    char *rules = root ? sr_asprintf("%s/rules", root) : NULL;
    free(root);
    sr_ruleset_info_t *list = NULL;
    size_t n = 0;
    sr_diag_t d;
    sr_diag_init(&d);
    if (!rules || sr_rulesets_scan(rules, &list, &n, &d) != SR_OK) {
        fprintf(stderr, "spinerules: error: no rules folder found beside the executable\n");
        sr_diag_free(&d);
        free(rules);
        return NULL;
    }
    size_t len = strlen(digest), matches = 0;
    char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (list[i].digest && strncmp(list[i].digest, digest, len) == 0) {
            if (!matches++)
                found = sr_strdup(list[i].dir);
        }
    }
    if (matches != 1) {
        if (matches)
            fprintf(stderr, "spinerules: error: %s: %zu installed rule sets have a digest starting so; "
                            "give more of it\n", digest, matches);
        else
            fprintf(stderr, "spinerules: error: %s: no rule set installed in %s has this digest "
                            "('spinerules rules' lists them)\n", digest, rules);
        free(found);
        found = NULL;
    }
    sr_rulesets_free(list, n);
    free(rules);
    return found;
}

/* Resolves --rules: a version folder, a rule set folder (newest version), or
 * sha256:<hex> (the installed rule set with that digest). */
static char *resolve_rules(const char *arg, const char *argv0)
{
    if (arg && strncmp(arg, "sha256:", 7) == 0)
        return find_by_digest(arg, argv0);
    if (!arg) {
        char *d = sr_default_rules_dir(argv0);
        if (!d)
            fprintf(stderr, "spinerules: error: no rule set found beside the executable "
                            "(expected rules/" DEFAULT_RULESET "/<version>/); use --rules DIR\n");
        return d;
    }
    if (has_manifest(arg))
        return sr_strdup(arg);
    char *v = newest_version(arg);
    if (!v)
        fprintf(stderr, "spinerules: error: %s: not a rule set (no manifest.yaml, and no version "
                        "folder holding one)\n", arg);
    return v;
}

static sr_engine_t *open_engine(const char *rules_arg, const char *argv0, char **dir_out)
{
    char *dir = resolve_rules(rules_arg, argv0);
    if (!dir)
        return NULL;
    sr_engine_t *e = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    if (sr_engine_open(&e, dir, &d) != SR_OK) {
        sr_diag_print(&d, stderr);
        sr_diag_free(&d);
        free(dir);
        return NULL;
    }
    if (dir_out)
        *dir_out = dir;
    else
        free(dir);
    return e;
}

/* ---- options ---- */

typedef struct {
    const char *rules;
    const char *output;
    sr_output_format_t format;
    sr_input_format_t input_format;
    const char *lang;    /* eval --lang */
    int jobs;            /* 0: one per core */
    int progress;        /* -1: when stderr is a terminal; 0 off; 1 on */
    int coverage;        /* verify --coverage */
    char **files;
    int nfiles;
} options_t;

/* The options a command takes (parse_options refuses the others by name). */
enum {
    OPT_RULES = 1 << 0,
    OPT_OUTPUT = 1 << 1,
    OPT_FORMAT = 1 << 2,
    OPT_INPUT_FORMAT = 1 << 3,
    OPT_LANG = 1 << 4,
    OPT_JOBS = 1 << 5,
    OPT_PROGRESS = 1 << 6,
    OPT_COVERAGE = 1 << 7,
    OPT_EVAL = OPT_RULES | OPT_OUTPUT | OPT_FORMAT | OPT_INPUT_FORMAT | OPT_LANG | OPT_JOBS | OPT_PROGRESS,
};

/* Parses the options of a command (those in allowed); returns -1 after
 * printing a usage error, 1 for --help, 0 otherwise. */
static int parse_options(int argc, char **argv, options_t *o, int allow_files, unsigned allowed)
{
    memset(o, 0, sizeof *o);
    o->progress = -1;
    o->files = argv + argc; /* none yet */
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define ALLOWED(opt)                                                                                     \
    do {                                                                                                 \
        if (!(allowed & (opt))) {                                                                        \
            usage_error("option '%s' does not apply to this command (see its --help)", a);               \
            return -1;                                                                                   \
        }                                                                                                \
    } while (0)
#define NEED_VALUE()                                                                                     \
    do {                                                                                                 \
        if (i + 1 >= argc) {                                                                             \
            usage_error("option '%s' needs a value", a);                                                 \
            return -1;                                                                                   \
        }                                                                                                \
        val = argv[++i];                                                                                 \
    } while (0)
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            return 1;
        } else if (strcmp(a, "--coverage") == 0) {
            ALLOWED(OPT_COVERAGE);
            o->coverage = 1;
        } else if (strcmp(a, "--rules") == 0) {
            ALLOWED(OPT_RULES);
            NEED_VALUE();
            o->rules = val;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            ALLOWED(OPT_OUTPUT);
            NEED_VALUE();
            o->output = val;
        } else if (strcmp(a, "--format") == 0) {
            ALLOWED(OPT_FORMAT);
            NEED_VALUE();
            if (strcmp(val, "jsonl") == 0 || strcmp(val, "json") == 0)
                o->format = SR_OUT_JSONL;
            else if (strcmp(val, "yaml") == 0)
                o->format = SR_OUT_YAML;
            else if (strcmp(val, "csv") == 0)
                o->format = SR_OUT_CSV;
            else if (strcmp(val, "html") == 0)
                o->format = SR_OUT_HTML;
            else if (strcmp(val, "text") == 0)
                o->format = SR_OUT_TEXT;
            else {
                usage_error("unknown format '%s' (expected jsonl, yaml, csv, html or text)", val);
                return -1;
            }
        } else if (strcmp(a, "--input-format") == 0) {
            ALLOWED(OPT_INPUT_FORMAT);
            NEED_VALUE();
            if (strcmp(val, "auto") == 0)
                o->input_format = SR_IN_AUTO;
            else if (strcmp(val, "yaml") == 0)
                o->input_format = SR_IN_YAML;
            else if (strcmp(val, "jsonl") == 0)
                o->input_format = SR_IN_JSONL;
            else if (strcmp(val, "csv") == 0)
                o->input_format = SR_IN_CSV;
            else {
                usage_error("unknown input format '%s' (expected auto, yaml, jsonl or csv)", val);
                return -1;
            }
        } else if (strcmp(a, "--lang") == 0) {
            ALLOWED(OPT_LANG);
            NEED_VALUE();
            if (strcmp(val, "fr") != 0 && strcmp(val, "en") != 0) {
                usage_error("unknown language '%s' (expected fr or en)", val);
                return -1;
            }
            o->lang = val;
        } else if (strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) {
            ALLOWED(OPT_JOBS);
            NEED_VALUE();
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 64) {
                usage_error("--jobs expects a number of workers from 1 to 64, found '%s'", val);
                return -1;
            }
            o->jobs = (int)n;
        } else if (strcmp(a, "--progress") == 0) {
            ALLOWED(OPT_PROGRESS);
            o->progress = 1;
        } else if (strcmp(a, "--no-progress") == 0) {
            ALLOWED(OPT_PROGRESS);
            o->progress = 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            usage_error("unknown option '%s'", a);
            return -1;
        } else {
            break;
        }
#undef NEED_VALUE
#undef ALLOWED
    }
    /* the remaining arguments are files; options may not follow them */
    o->files = argv + i;
    o->nfiles = argc - i;
    for (int k = 0; k < o->nfiles; k++) {
        if (o->files[k][0] == '-' && o->files[k][1] != '\0') {
            usage_error("options must come before the files: '%s'", o->files[k]);
            return -1;
        }
    }
    if (!allow_files && o->nfiles) {
        usage_error("unexpected argument '%s'", o->files[0]);
        return -1;
    }
    return 0;
}

/* ---- commands ---- */

/* eval's -o FILE. A regular file (or a new one, or one a symbolic link
 * names) is written beside itself under a temporary name and renamed when
 * the run completes, so that an interrupted run never leaves half a file
 * under the final name. Anything else, such as /dev/null, a named pipe or a
 * terminal, is written in place: renaming over it would replace a device
 * with a regular file. */
typedef struct {
    FILE *f;
    char *tmp;   /* the temporary name, or NULL when written in place */
    char *final; /* what the temporary file becomes (a link's target, resolved) */
} output_t;

static int output_open(output_t *of, const char *path)
{
    struct stat st;
    int replace = 0;
    if (lstat(path, &st) != 0)
        replace = errno == ENOENT;
    else if (S_ISREG(st.st_mode))
        replace = 1;
    else if (S_ISLNK(st.st_mode) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        replace = (of->final = realpath(path, NULL)) != NULL;
    if (!replace) {
        of->f = fopen(path, "w");
        return of->f ? 0 : -1;
    }
    if (!of->final)
        of->final = sr_strdup(path);
    of->tmp = of->final ? sr_asprintf("%s.tmp-XXXXXX", of->final) : NULL;
    int fd = of->tmp ? mkstemp(of->tmp) : -1;
    of->f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!of->f) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
            unlink(of->tmp);
        }
        free(of->tmp);
        free(of->final);
        errno = err;
        return -1;
    }
    return 0;
}

/* Closes the output; renames it into place unless the run's status is a
 * usage error (then the temporary file goes). Returns the status, a usage
 * error when closing or renaming failed. */
static int output_close(output_t *of, const char *path, int status)
{
    if (fclose(of->f) != 0 && status != EXIT_USAGE) {
        fprintf(stderr, "spinerules: error: %s: %s\n", path, strerror(errno));
        status = EXIT_USAGE;
    }
    if (of->tmp && status == EXIT_USAGE) {
        unlink(of->tmp);
    } else if (of->tmp && rename(of->tmp, of->final) != 0) {
        fprintf(stderr, "spinerules: error: %s: cannot rename into place: %s\n", path, strerror(errno));
        unlink(of->tmp);
        status = EXIT_USAGE;
    }
    free(of->tmp);
    free(of->final);
    return status;
}

static int cmd_eval(int argc, char **argv, const char *argv0)
{
    options_t o;
    int rc = parse_options(argc, argv, &o, 1, OPT_EVAL);
    if (rc)
        return rc > 0 ? (fputs(eval_usage, stdout), EXIT_OK) : EXIT_USAGE;
    static char *stdin_only[] = {"-"};
    if (o.nfiles == 0) {
        o.files = stdin_only;
        o.nfiles = 1;
    }
    sr_engine_t *e = open_engine(o.rules, argv0, NULL);
    if (!e)
        return EXIT_USAGE;
    sr_engine_set_jobs(e, o.jobs);
    /* progress only on a terminal (never in CI logs) unless asked for */
    sr_engine_set_progress(e, o.progress == -1 ? isatty(fileno(stderr)) && !getenv("CI") : o.progress);
    FILE *out = stdout;
    output_t of = {NULL, NULL, NULL};
    if (o.output) {
        if (output_open(&of, o.output) != 0) {
            fprintf(stderr, "spinerules: error: %s: cannot create: %s\n", o.output, strerror(errno));
            sr_engine_close(e);
            return EXIT_USAGE;
        }
        out = of.f;
    }
    sr_run_stats_t stats = {0, 0};
    int status = EXIT_OK;
    if (o.lang)
        sr_engine_set_lang(e, o.lang);
    sr_diag_t bd;
    sr_diag_init(&bd);
    int began = sr_engine_write_begin(e, o.format, out, &bd) == SR_OK; /* the CSV header, the HTML page head */
    if (!began) {
        sr_diag_print(&bd, stderr);
        status = EXIT_USAGE;
    }
    for (int i = 0; i < o.nfiles && began; i++) {
        sr_diag_t d;
        sr_diag_init(&d);
        if (sr_engine_eval_file(e, o.files[i], o.input_format, o.format, out, stderr, &stats, &d) != SR_OK) {
            sr_diag_print(&d, stderr);
            status = EXIT_USAGE;
        }
        sr_diag_free(&d);
    }
    if (began && sr_engine_write_end(e, o.format, out, &bd) != SR_OK) {
        sr_diag_print(&bd, stderr);
        status = EXIT_USAGE;
    }
    sr_diag_free(&bd);
    if (status == EXIT_OK && stats.failed)
        status = EXIT_FAILED;
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "spinerules: error: cannot write the results: %s\n", strerror(errno));
        status = EXIT_USAGE;
    }
    if (o.output)
        status = output_close(&of, o.output, status);
    sr_engine_close(e);
    return status;
}

static int cmd_verify(int argc, char **argv, const char *argv0)
{
    options_t o;
    int rc = parse_options(argc, argv, &o, 0, OPT_RULES | OPT_COVERAGE);
    if (rc)
        return rc > 0 ? (fputs(verify_usage, stdout), EXIT_OK) : EXIT_USAGE;
    char *dir = NULL;
    sr_engine_t *e = open_engine(o.rules, argv0, &dir);
    if (!e)
        return EXIT_USAGE;
    sr_golden_stats_t gs;
    sr_diag_t d;
    sr_diag_init(&d);
    int status;
    sr_coverage_stats_t cs;
    if ((o.coverage && sr_coverage_start(e, &d) != SR_OK) || sr_golden_verify(e, dir, stdout, &gs, &d) != SR_OK ||
        (o.coverage && sr_coverage_report(e, stdout, &cs, &d) != SR_OK)) {
        sr_diag_print(&d, stderr);
        status = EXIT_USAGE;
    } else {
        /* with --coverage, a reachable point no golden case reaches fails too */
        status = gs.failed || (o.coverage && cs.reached < cs.reachable) ? EXIT_FAILED : EXIT_OK;
    }
    sr_diag_free(&d);
    free(dir);
    sr_engine_close(e);
    return status;
}

/* Lists rule sets: those installed beside the executable, or those under
 * each DIR given (a rules/ folder: <DIR>/<name>/<version>/manifest.yaml),
 * a line each, sorted by name and version:
 *   <name> <version> <status> <digest> <folder>
 * A rule set that cannot be opened is reported on stderr (exit 1). */
static int cmd_rules(int argc, char **argv, const char *argv0)
{
    options_t o;
    int rc = parse_options(argc, argv, &o, 1, 0);
    if (rc)
        return rc > 0 ? (fputs(rules_usage, stdout), EXIT_OK) : EXIT_USAGE;
    char *installed = NULL;
    if (o.nfiles == 0) {
        char *root = data_root(argv0);
        installed = root ? sr_asprintf("%s/rules", root) : NULL;
        free(root);
        if (!installed) {
            fprintf(stderr, "spinerules: error: no rules folder found beside the executable\n");
            return EXIT_USAGE;
        }
    }
    int status = EXIT_OK;
    for (int k = 0; k < (installed ? 1 : o.nfiles); k++) {
        const char *rules = installed ? installed : o.files[k];
        sr_ruleset_info_t *list = NULL;
        size_t n = 0;
        sr_diag_t d;
        sr_diag_init(&d);
        if (sr_rulesets_scan(rules, &list, &n, &d) != SR_OK) {
            sr_diag_print(&d, stderr);
            sr_diag_free(&d);
            status = EXIT_USAGE;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (list[i].diag.message) {
                sr_diag_print(&list[i].diag, stderr);
                if (status == EXIT_OK)
                    status = EXIT_FAILED;
                continue;
            }
            char real[PATH_MAX];
            printf("%s %s %s %s %s\n", list[i].name, list[i].version, list[i].status ? list[i].status : "-",
                   list[i].digest, realpath(list[i].dir, real) ? real : list[i].dir);
        }
        sr_rulesets_free(list, n);
        sr_diag_free(&d);
    }
    free(installed);
    return status;
}

/* diff --from DIR --to DIR [--format text|markdown|json] [--input-format F]
 * [-o FILE] FILE...: exit 0 when no case's outcome changes, 1 when some does
 * (the rules may differ either way: the report says how). */
static int cmd_diff(int argc, char **argv, const char *argv0)
{
    const char *from = NULL, *to = NULL, *output = NULL;
    sr_diff_opts_t o = {NULL, NULL, NULL, 0, SR_IN_AUTO, SR_DIFF_TEXT, stdout, stderr};
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(diff_usage, stdout);
            return EXIT_OK;
        }
        int takes = strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 || strcmp(a, "--format") == 0 ||
                    strcmp(a, "--input-format") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0;
        if (!takes && a[0] == '-' && a[1] != '\0')
            return usage_error("unknown option '%s'", a);
        if (!takes)
            break;
        if (i + 1 >= argc)
            return usage_error("option '%s' needs a value", a);
        const char *val = argv[++i];
        if (strcmp(a, "--from") == 0) {
            from = val;
        } else if (strcmp(a, "--to") == 0) {
            to = val;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            output = val;
        } else if (strcmp(a, "--format") == 0) {
            if (strcmp(val, "text") == 0)
                o.format = SR_DIFF_TEXT;
            else if (strcmp(val, "markdown") == 0 || strcmp(val, "md") == 0)
                o.format = SR_DIFF_MARKDOWN;
            else if (strcmp(val, "json") == 0)
                o.format = SR_DIFF_JSON;
            else
                return usage_error("unknown diff format '%s' (expected text, markdown or json)", val);
        } else if (strcmp(val, "auto") == 0) {
            o.input_format = SR_IN_AUTO;
        } else if (strcmp(val, "yaml") == 0) {
            o.input_format = SR_IN_YAML;
        } else if (strcmp(val, "jsonl") == 0) {
            o.input_format = SR_IN_JSONL;
        } else {
            return usage_error("unknown input format '%s' (expected auto, yaml or jsonl)", val);
        }
    }
    for (int k = i; k < argc; k++) {
        if (argv[k][0] == '-' && argv[k][1] != '\0')
            return usage_error("options must come before the files: '%s'", argv[k]);
        if (strcmp(argv[k], "-") == 0)
            return usage_error("%s", "diff reads each case file more than once: give files, not '-'");
    }
    if (!from || !to)
        return usage_error("%s", "diff needs --from DIR and --to DIR");
    if (i >= argc)
        return usage_error("%s", "diff needs at least one case file");
    o.files = (const char *const *)(argv + i);
    o.nfiles = argc - i;
    char *from_dir = resolve_rules(from, argv0);
    char *to_dir = from_dir ? resolve_rules(to, argv0) : NULL;
    if (!to_dir) {
        free(from_dir);
        return EXIT_USAGE;
    }
    o.from = from_dir;
    o.to = to_dir;
    if (output && !(o.out = fopen(output, "w"))) {
        fprintf(stderr, "spinerules: error: %s: cannot create: %s\n", output, strerror(errno));
        free(from_dir);
        free(to_dir);
        return EXIT_USAGE;
    }
    size_t changed = 0;
    sr_diag_t d;
    sr_diag_init(&d);
    int status;
    if (sr_diff_run(&o, &changed, &d) != SR_OK) {
        sr_diag_print(&d, stderr);
        status = EXIT_USAGE;
    } else {
        status = changed ? EXIT_FAILED : EXIT_OK;
    }
    if (fflush(o.out) != 0 || ferror(o.out) || (output && fclose(o.out) != 0)) {
        fprintf(stderr, "spinerules: error: cannot write the report: %s\n", strerror(errno));
        status = EXIT_USAGE;
    }
    sr_diag_free(&d);
    free(from_dir);
    free(to_dir);
    return status;
}

/* check [--rules DIR] [--strict] [--lang fr|en]: every finding on stdout,
 * then the count. Exit 0 when there is no error (and, with --strict, no
 * warning), 1 on warnings with --strict, 2 on errors. */
static int cmd_check(int argc, char **argv, const char *argv0)
{
    const char *rules = NULL;
    int strict = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(check_usage, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--strict") == 0) {
            strict = 1;
        } else if (strcmp(a, "--rules") == 0 || strcmp(a, "--lang") == 0) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", a);
            const char *val = argv[++i];
            sr_lang_t lang;
            if (a[2] == 'r')
                rules = val;
            else if (sr_lang_parse(val, &lang) != 0)
                return usage_error("unknown language '%s' (expected fr or en)", val);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    char *dir = resolve_rules(rules, argv0);
    if (!dir)
        return EXIT_USAGE;
    sr_findings_t f;
    sr_findings_init(&f);
    sr_diag_t d;
    sr_diag_init(&d);
    int status;
    if (sr_check_ruleset(dir, &f, &d) != SR_OK) {
        sr_diag_print(&d, stderr);
        status = EXIT_USAGE;
    } else {
        sr_findings_print(&f, stdout);
        /* one, and in French zero too, is singular */
        size_t one = sr_get_lang() == SR_LANG_FR ? 1 : 0;
        printf(sr_msg(f.errors == 1 || f.errors < one ? SR_MSG_CLI_CHECK_ERRORS_1 : SR_MSG_CLI_CHECK_ERRORS_N), f.errors);
        fputs(", ", stdout);
        printf(sr_msg(f.warnings == 1 || f.warnings < one ? SR_MSG_CLI_CHECK_WARNINGS_1 : SR_MSG_CLI_CHECK_WARNINGS_N),
               f.warnings);
        fputc('\n', stdout);
        status = f.errors ? EXIT_USAGE : (strict && f.warnings) ? EXIT_FAILED : EXIT_OK;
    }
    sr_diag_free(&d);
    sr_findings_free(&f);
    free(dir);
    return status;
}

/* --version [--rules DIR]: the engine, then the rule set a command would use
 * (as `rules` names it), so a result can be traced to both. */
static int cmd_version(int argc, char **argv, const char *argv0)
{
    const char *rules = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--rules") != 0)
            return usage_error(argv[i][0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", argv[i]);
        if (i + 1 >= argc)
            return usage_error("option '%s' needs a value", argv[i]);
        rules = argv[++i];
    }
    printf("spinerules %s (rule API level %d)\n", SR_VERSION, SR_API_LEVEL);
    fflush(stdout); /* before any diagnostic about the rule set */
    char *dir = NULL;
    sr_engine_t *e = open_engine(rules, argv0, &dir);
    if (!e)
        return EXIT_USAGE;
    char real[PATH_MAX];
    const char *status = sr_engine_ruleset_status(e);
    printf("rule set: %s %s (%s)\n", sr_engine_ruleset_name(e), sr_engine_ruleset_version(e), status ? status : "-");
    printf("digest:   %s\n", sr_engine_ruleset_digest(e));
    printf("folder:   %s\n", realpath(dir, real) ? real : dir);
    free(dir);
    sr_engine_close(e);
    return EXIT_OK;
}

/* The help of each command, for `spinerules help <command>`. */
static const struct {
    const char *name;
    const char *usage;
} command_help[] = {
    {"eval", eval_usage}, {"verify", verify_usage}, {"check", check_usage},
    {"rules", rules_usage}, {"diff", diff_usage},
};

int sr_cli_main(int argc, char **argv)
{
    const char *argv0 = argc > 0 ? argv[0] : "spinerules";
    /* --lang sets the language of every message the engine prints: read first */
    for (int i = 2; i + 1 < argc && strcmp(argv[i], "--") != 0; i++) {
        sr_lang_t lang;
        if (strcmp(argv[i], "--lang") == 0 && sr_lang_parse(argv[i + 1], &lang) == 0)
            sr_set_lang(lang);
    }
    if (argc < 2)
        return usage_error("%s", "missing command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        if (argc > 2) { /* help <command> */
            for (size_t i = 0; i < sizeof command_help / sizeof command_help[0]; i++) {
                if (strcmp(argv[2], command_help[i].name) == 0) {
                    fputs(command_help[i].usage, stdout);
                    return EXIT_OK;
                }
            }
            return usage_error("unknown command '%s'", argv[2]);
        }
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0)
        return cmd_version(argc - 2, argv + 2, argv0);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 2, argv + 2, argv0);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 2, argv + 2, argv0);
    if (strcmp(cmd, "rules") == 0)
        return cmd_rules(argc - 2, argv + 2, argv0);
    if (strcmp(cmd, "diff") == 0)
        return cmd_diff(argc - 2, argv + 2, argv0);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2, argv0);
    return usage_error("unknown command '%s'", cmd);
}
