/* fuzz_rules.c -- libFuzzer harness: rule loading plus evaluation. Each
 * input is a rule file appended to a copy of the shipped rule set; when the
 * rule set opens, two cases are evaluated and their results written. Limits
 * are lowered (time 100 ms, memory 16 MiB) so that loops and memory bombs
 * end quickly; any crash, leak or sanitizer report is a finding. */
#include <dirent.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "sandbox.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/sr-fuzz-rules-XXXXXX";
static char *extra_path;
static char *cases_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        abort();
    char *cmd = sr_asprintf("cp -r '%s/rules/spine-metastasis-lung/1.0.0/.' '%s/' && "
                            "printf '  - extra.lua\\n' >> '%s/manifest.yaml' && "
                            "printf 'id: F-1\\npatient: {karnofsky: 60}\\n---\\nid: F-2\\n' > '%s/cases.yaml'",
                            SR_SOURCE_DIR, dir, dir, dir);
    if (!cmd || system(cmd) != 0)
        abort();
    free(cmd);
    extra_path = sr_asprintf("%s/extra.lua", dir);
    cases_path = sr_asprintf("%s/cases.yaml", dir);
    sr_sandbox_default_limits.time_limit_ms = 100;
    sr_sandbox_default_limits.mem_limit = 16u << 20;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(extra_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    sr_engine_t *e = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    if (sr_engine_open(&e, dir, &d) == SR_OK) {
        FILE *out = fopen("/dev/null", "w");
        sr_run_stats_t stats = {0, 0};
        sr_engine_eval_file(e, cases_path, SR_IN_YAML, SR_OUT_JSONL, out, NULL, &stats, &d);
        fclose(out);
        sr_engine_close(e);
    }
    sr_diag_free(&d);
    return 0;
}
