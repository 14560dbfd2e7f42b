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
    X(CLI_UNKNOWN_FORMAT, "unknown format '%s' (expected jsonl, yaml or text)",                             \
      "format inconnu '%s' (attendu : jsonl, yaml ou text)")                                                \
    X(CLI_UNKNOWN_INPUT_FORMAT, "unknown input format '%s' (expected auto, yaml or jsonl)",                 \
      "format d'entrée inconnu '%s' (attendu : auto, yaml ou jsonl)")                                       \
    X(CLI_UNKNOWN_LANG, "unknown language '%s' (expected fr or en)", "langue inconnue '%s' (attendu : fr ou en)") \
    X(CLI_OPTIONS_FIRST, "options must come before the files: '%s'",                                       \
      "les options doivent précéder les fichiers : '%s'")                                                   \
    X(CLI_UNEXPECTED_ARG, "unexpected argument '%s'", "argument inattendu '%s'")                            \
    X(CLI_NO_RULESET, "no rule set found beside the executable (expected rules/%s/<version>/); use --rules DIR", \
      "aucun jeu de règles à côté de l'exécutable (attendu : rules/%s/<version>/) ; utilisez --rules DOSSIER") \
    X(CLI_NOT_A_RULESET, "%s: not a rule set (no manifest.yaml, and no version folder holding one)",        \
      "%s : ce n'est pas un jeu de règles (ni manifest.yaml, ni dossier de version qui en contienne un)")     \
    X(CLI_CANNOT_CREATE, "%s: cannot create: %s", "%s : création impossible : %s")                          \
    X(CLI_CANNOT_WRITE, "cannot write the results: %s", "écriture des résultats impossible : %s")           \
    X(CLI_CANNOT_RENAME, "%s: cannot rename into place: %s", "%s : renommage impossible : %s")              \
    X(CLI_NO_RULES_FOLDER, "no rules folder found beside the executable",                                   \
      "aucun dossier rules à côté de l'exécutable")                                                         \
    X(CLI_CHECK_ERRORS_1, "%zu error", "%zu erreur")                                                         \
    X(CLI_CHECK_ERRORS_N, "%zu errors", "%zu erreurs")                                                       \
    X(CLI_CHECK_WARNINGS_1, "%zu warning", "%zu avertissement")                                              \
    X(CLI_CHECK_WARNINGS_N, "%zu warnings", "%zu avertissements")                                            \
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

#endif
