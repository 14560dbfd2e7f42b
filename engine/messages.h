/* messages.h -- private: the catalogue of the messages the engine prints,
 * each with an id and its English and French text.
 *
 * A message is a printf format; both languages take the same conversions in
 * the same order (tests/unit/test_messages.c checks every pair). English is
 * the default for diagnostics; sr_set_lang switches the whole
 * process, once, before any engine is opened. Messages pinned by other tests
 * keep their English text here word for word. */
#ifndef SR_MESSAGES_H
#define SR_MESSAGES_H

#include "spinerules.h"

/* Language of the messages the engine prints (diagnostics; English by
 * default) and of readable results. sr_set_lang switches the diagnostics of
 * the whole process: call it once, before any engine is opened. */
typedef enum { SR_LANG_EN = 0, SR_LANG_FR } sr_lang_t;
void sr_set_lang(sr_lang_t lang);
sr_lang_t sr_get_lang(void);
/* "en" or "fr" into *out: returns 0, or -1 for anything else. */
int sr_lang_parse(const char *s, sr_lang_t *out);
const char *sr_lang_code(sr_lang_t lang); /* "en" or "fr" */

/* X(id, English, French) */
#define SR_MESSAGE_LIST(X)                                                                                   \
    /* words of a diagnostic line: "file:line:col: error: message" */                                        \
    X(ERROR, "error", "erreur")                                                                             \
    X(WARNING, "warning", "avertissement")                                                                  \
    X(NOTE, "note", "note")                                                                                 \
    /* the command line */                                                                                   \
    X(CLI_TRY_HELP, "try 'spinerules --help'", "essayez 'spinerules --help'")                               \
    X(CLI_MISSING_COMMAND, "missing command", "commande manquante")                                         \
    X(CLI_UNKNOWN_COMMAND, "unknown command '%s'", "commande inconnue '%s'")                                \
    X(CLI_UNKNOWN_OPTION, "unknown option '%s'", "option inconnue '%s'")                                    \
    X(CLI_NEEDS_VALUE, "option '%s' needs a value", "l'option '%s' attend une valeur")                      \
    X(CLI_NOT_FOR_COMMAND, "option '%s' does not apply to this command (see its --help)",                  \
      "l'option '%s' ne s'applique pas à cette commande (voir son --help)")                                 \
    X(CLI_UNKNOWN_FORMAT, "unknown format '%s' (expected jsonl, yaml, csv, html or text)",                  \
      "format inconnu '%s' (attendu : jsonl, yaml, csv, html ou text)")                                     \
    X(CLI_UNKNOWN_INPUT_FORMAT, "unknown input format '%s' (expected auto, yaml, jsonl or csv)",            \
      "format d'entrée inconnu '%s' (attendu : auto, yaml, jsonl ou csv)")                                  \
    X(CLI_UNKNOWN_DIFF_INPUT_FORMAT, "unknown input format '%s' (expected auto, yaml or jsonl)",            \
      "format d'entrée inconnu '%s' (attendu : auto, yaml ou jsonl)")                                       \
    X(CLI_UNKNOWN_DIFF_FORMAT, "unknown diff format '%s' (expected text, markdown or json)",                \
      "format de diff inconnu '%s' (attendu : text, markdown ou json)")                                     \
    X(CLI_UNKNOWN_LANG, "unknown language '%s' (expected fr or en)", "langue inconnue '%s' (attendu : fr ou en)") \
    X(CLI_JOBS, "--jobs expects a number of workers from 1 to 64, found '%s'",                              \
      "--jobs attend un nombre de travailleurs de 1 à 64, reçu '%s'")                                       \
    X(CLI_OPTIONS_FIRST, "options must come before the files: '%s'",                                       \
      "les options doivent précéder les fichiers : '%s'")                                                   \
    X(CLI_UNEXPECTED_ARG, "unexpected argument '%s'", "argument inattendu '%s'")                            \
    X(CLI_DIFF_NEEDS_DIRS, "diff needs --from DIR and --to DIR", "diff demande --from DOSSIER et --to DOSSIER") \
    X(CLI_DIFF_NEEDS_FILE, "diff needs at least one case file", "diff demande au moins un fichier de cas")  \
    X(CLI_DIFF_NO_STDIN, "diff reads each case file more than once: give files, not '-'",                   \
      "diff lit chaque fichier de cas plusieurs fois : donnez des fichiers, pas '-'")                       \
    X(CLI_CHECK_ERRORS_1, "%zu error", "%zu erreur")                                                         \
    X(CLI_CHECK_ERRORS_N, "%zu errors", "%zu erreurs")                                                       \
    X(CLI_CHECK_WARNINGS_1, "%zu warning", "%zu avertissement")                                              \
    X(CLI_CHECK_WARNINGS_N, "%zu warnings", "%zu avertissements")                                            \
    X(DIAG_MORE_ERRORS_1, "%s:%d: note: %zu more error in this case not shown\n",                         \
      "%s:%d: note : %zu autre erreur de ce cas non affichée\n")                                           \
    X(DIAG_MORE_ERRORS_N, "%s:%d: note: %zu more errors in this case not shown\n",                        \
      "%s:%d: note : %zu autres erreurs de ce cas non affichées\n")                                        \
    /* reader, rule set, verify */                                                                           \
    X(OUT_OF_MEMORY, "out of memory", "mémoire insuffisante")                                               \
    X(CANNOT_OPEN, "cannot open: %s", "ouverture impossible : %s")                                          \
    X(CANNOT_WRITE_RESULTS, "cannot write the results", "écriture des résultats impossible")               \
    X(READ_ERROR, "read error: %s", "erreur de lecture : %s")                                               \
    X(MANIFEST_EMPTY, "the manifest is empty", "le manifeste est vide")                                     \
    X(MANIFEST_MAPPING, "the manifest must be a mapping", "le manifeste doit être un dictionnaire")         \
    X(MANIFEST_UNREADABLE, "cannot read the rule set's manifest: %s",                                       \
      "lecture du manifeste du jeu de règles impossible : %s")                                              \
    X(API_MISMATCH, "this engine provides prelude API level %d; the manifest asks for %s",                  \
      "ce moteur fournit le niveau d'API %d du prélude ; le manifeste demande %s")                          \
    X(NO_GOLDEN, "no golden case files (*.yaml) found", "aucun fichier de cas de référence (*.yaml)")      \
    /* evaluation */                                                                                         \
    X(EVAL_NO_CASE, "no case in this file", "aucun cas dans ce fichier")                                    \
    X(EVAL_REFUSED, "the rule set has %zu error(s): run 'spinerules check --rules %s'",                     \
      "le jeu de règles a %zu erreur(s) : lancez 'spinerules check --rules %s'")                            \
    /* check: the manifest */                                                                                \
    X(CHK_CANNOT_READ, "cannot read: %s", "lecture impossible : %s")                                         \
    X(CHK_NOT_SEMVER, "version '%s' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.1.0)",             \
      "la version '%s' n'est pas une version sémantique (MAJEURE.MINEURE.CORRECTIF, par ex. 1.1.0)")        \
    X(CHK_VERSION_FOLDER, "version '%s' differs from the name of its folder '%s' (bump the version when copying a rule set)", \
      "la version '%s' diffère du nom de son dossier '%s' (changez la version en copiant un jeu de règles)") \
    X(CHK_NO_CHANGELOG, "the changelog has no entry for version '%s'",                                      \
      "le journal des modifications n'a pas d'entrée pour la version '%s'")                                 \
    X(CHK_API_UNKNOWN, "API level %s is unknown: this engine provides prelude API level %d",                \
      "le niveau d'API %s est inconnu : ce moteur fournit le niveau d'API %d du prélude")                   \
    X(CHK_CASE_SCHEMA_MISSING, "the case schema '%s' does not exist", "le schéma de cas '%s' n'existe pas")  \
    X(CHK_FILE_MISSING, "rule file '%s' is listed in files but is not in the rule set's folder",            \
      "le fichier de règles '%s' est listé dans files mais n'est pas dans le dossier du jeu de règles")     \
    X(CHK_FILE_UNLISTED, "rule file '%s' is in the rule set's folder but not listed in files (list it, or move it out of the folder)", \
      "le fichier de règles '%s' est dans le dossier du jeu de règles mais pas dans files (listez-le, ou sortez-le du dossier)") \
    /* check: rule files */                                                                                  \
    X(CHK_FORBIDDEN_GLOBAL, "'%s' is not available to rule files: the sandbox refuses it at run time (undefined global)", \
      "'%s' n'est pas accessible aux fichiers de règles : le bac à sable le refuse à l'exécution (variable globale non définie)") \
    X(CHK_FORBIDDEN_METATABLE, "'%s' is not available to rule files: metatables (e.g. __concat, on Lua 5.4.4's known-bug list) are refused at run time", \
      "'%s' n'est pas accessible aux fichiers de règles : les métatables (par ex. __concat, sur la liste des bogues connus de Lua 5.4.4) sont refusées à l'exécution") \
    X(CHK_FORBIDDEN_COROUTINE, "'%s' is not available to rule files: coroutines (coroutine.close chains crash Lua 5.4.4) are refused at run time", \
      "'%s' n'est pas accessible aux fichiers de règles : les coroutines (les chaînes de coroutine.close plantent Lua 5.4.4) sont refusées à l'exécution") \
    X(CHK_FORBIDDEN_FIELD, "'%s.%s' is not available to rule files: calling it fails at run time",          \
      "'%s.%s' n'est pas accessible aux fichiers de règles : l'appeler échoue à l'exécution")               \
    X(CHK_UNDEFINED_GLOBAL, "undefined global '%s'%s: reading it fails at run time",                        \
      "variable globale non définie '%s'%s : la lire échoue à l'exécution")                                 \
    X(CHK_DID_YOU_MEAN, " (did you mean '%s'?)", " (vouliez-vous dire '%s' ?)")                             \
    X(CHK_GLOBAL_SET_IN_FUNCTION, "a function sets the global '%s': rule files cannot set globals once the rule set is loaded", \
      "une fonction affecte la variable globale '%s' : les fichiers de règles ne peuvent plus affecter de globale une fois le jeu chargé") \
    X(CHK_PROBES_STOPPED, "while the rules ran on generated cases: %s",                                     \
      "pendant l'exécution des règles sur des cas générés : %s")                                            \
    X(CHK_MANIFEST_NOT_MAPPING, "the manifest must be a mapping", "le manifeste doit être un dictionnaire")

typedef enum {
#define SR_MSG_ENUM(id, en, fr) SR_MSG_##id,
    SR_MESSAGE_LIST(SR_MSG_ENUM)
#undef SR_MSG_ENUM
    SR_MSG_COUNT_
} sr_msg_t;

/* The text of message id in the current language (a printf format). */
const char *sr_msg(sr_msg_t id);

/* The text of message id in lang. */
const char *sr_msg_in(sr_msg_t id, sr_lang_t lang);

/* The translation of an English message format in the current language: the
 * catalogue entry whose English text is en, or en itself when there is none
 * (or the language is English). Lets shared code translate at one place
 * (sr_diag_set, the CLI's usage errors) without naming message ids. */
const char *sr_tr(const char *en);

/* A finished English message of the validator in the current language (or
 * in lang): known phrases (a table in messages.c) are replaced outside the
 * quoted values ('...'), which are kept as they are. Takes ownership of en
 * and returns it (English) or a new malloc'd string (NULL only when en is).
 * Results keep the English message (they are data); what is printed for
 * people (diagnostics, the text report) goes through here. */
char *sr_tr_message(char *en);
char *sr_tr_message_in(sr_lang_t lang, char *en);

#endif
