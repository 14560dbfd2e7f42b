/* messages.c -- the message catalogue (English and French) and the
 * process-wide language of diagnostics. */
#include "messages.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const text[SR_MSG_COUNT_][2] = {
#define SR_MSG_TEXT(id, en, fr) {en, fr},
    SR_MESSAGE_LIST(SR_MSG_TEXT)
#undef SR_MSG_TEXT
};

/* Written once by the program before any engine is opened or any thread
 * started, then only read. */
static sr_lang_t current = SR_LANG_EN;

void sr_set_lang(sr_lang_t lang) { current = lang == SR_LANG_FR ? SR_LANG_FR : SR_LANG_EN; }

sr_lang_t sr_get_lang(void) { return current; }

int sr_lang_parse(const char *s, sr_lang_t *out)
{
    if (s && strcmp(s, "en") == 0) {
        *out = SR_LANG_EN;
        return 0;
    }
    if (s && strcmp(s, "fr") == 0) {
        *out = SR_LANG_FR;
        return 0;
    }
    return -1;
}

const char *sr_lang_code(sr_lang_t lang) { return lang == SR_LANG_FR ? "fr" : "en"; }

const char *sr_msg_in(sr_msg_t id, sr_lang_t lang)
{
    if ((unsigned)id >= SR_MSG_COUNT_)
        return "?";
    return text[id][lang == SR_LANG_FR ? 1 : 0];
}

const char *sr_msg(sr_msg_t id) { return sr_msg_in(id, current); }

const char *sr_tr(const char *en)
{
    if (current == SR_LANG_EN || !en)
        return en;
    for (int i = 0; i < SR_MSG_COUNT_; i++)
        if (strcmp(text[i][0], en) == 0)
            return text[i][1];
    return en;
}

/* Phrases of the validator's messages (schema.c, validate.c, reader.c) and
 * their French, longest first where one starts another: sr_tr_message
 * replaces them outside quoted values. */
static const char *const phrases[][2] = {
    {"expected a case (a mapping with an 'id'), found ", "attendu un cas (un dictionnaire avec un 'id'), trouvé "},
    {" (an empty document)", " (un document vide)"},
    {"expected a level listed in ", "attendu un niveau listé dans "},
    {"expected one lesion per level, found ", "attendu une lésion par niveau, trouvé "},
    {"expected a case id unique in this file, found ", "attendu un identifiant de cas unique dans ce fichier, trouvé "},
    {" again (first at line ", " une seconde fois (la première à la ligne "},
    {" again (first at index ", " une seconde fois (la première à l'indice "},
    {" again (first at ", " une seconde fois (la première en "},
    {" contradicts karnofsky ", " contredit l'indice de Karnofsky "},
    {", which the revised Tokuhashi score (2005) rates ", ", que le score de Tokuhashi révisé (2005) classe "},
    {"; the given general_condition is used", " ; le general_condition donné est retenu"},
    {"unknown field ", "champ inconnu "},
    {"; allowed fields: ", " ; champs permis : "},
    {" (no fields are allowed here)", " (aucun champ n'est permis ici)"},
    {"missing required field ", "champ obligatoire manquant "},
    {"a mapping key must be a string, found a ", "une clé de dictionnaire doit être une chaîne, trouvé "},
    {"duplicate key ", "clé en double "},
    {"expected a string matching the pattern ", "attendu une chaîne respectant le motif "},
    {"expected unique items, found ", "attendu des éléments uniques, trouvé "},
    {"expected a value matching at least one of ", "attendu une valeur conforme à au moins une des "},
    {"expected a value matching exactly one of ", "attendu une valeur conforme à exactement une des "},
    {"expected a value not matching the schema at ", "attendu une valeur non conforme au schéma en "},
    {" alternatives, found ", " possibilités, trouvé "},
    {"no value is allowed here, found ", "aucune valeur n'est permise ici, trouvé "},
    {"value nested too deeply to validate", "valeur trop imbriquée pour être validée"},
    {"expected a multiple of ", "attendu un multiple de "},
    {"expected at least ", "attendu au moins "},
    {"expected at most ", "attendu au plus "},
    {"expected more than ", "attendu plus de "},
    {"expected less than ", "attendu moins de "},
    {"expected one of ", "attendu l'une des valeurs "},
    {"expected ", "attendu "},
    {" characters, found ", " caractères, trouvé "},
    {" character, found ", " caractère, trouvé "},
    {" items, found ", " éléments, trouvé "},
    {" item, found ", " élément, trouvé "},
    {", found string ", ", trouvé la chaîne "},
    {", found integer ", ", trouvé l'entier "},
    {", found number ", ", trouvé le nombre "},
    {", found boolean ", ", trouvé le booléen "},
    {", found a mapping", ", trouvé un dictionnaire"},
    {", found a list of ", ", trouvé une liste de "},
    {", found ", ", trouvé "},
    {"a list of ", "une liste de "},
    {"a mapping", "un dictionnaire"},
    {" items", " éléments"},
    {" item", " élément"},
    {" (did you mean one of ", " (vouliez-vous dire l'une de "},
    {" (did you mean ", " (vouliez-vous dire "},
    {"?)", " ?)"},
    {" matching ", " conforme à "},
    {" and ", " et "},
    {" or ", " ou "},
    {"out of memory", "mémoire insuffisante"},
};

char *sr_tr_message(char *en) { return sr_tr_message_in(current, en); }

char *sr_tr_message_in(sr_lang_t lang, char *en)
{
    if (lang != SR_LANG_FR || !en)
        return en;
    sr_buf_t b;
    sr_buf_init(&b);
    int quoted = 0;
    for (const char *p = en; *p;) {
        size_t i = 0, n = sizeof phrases / sizeof phrases[0];
        if (!quoted) {
            for (; i < n; i++)
                if (strncmp(p, phrases[i][0], strlen(phrases[i][0])) == 0)
                    break;
        }
        if (!quoted && i < n) {
            const char *q = phrases[i][0];
            sr_buf_puts(&b, phrases[i][1]);
            p += strlen(q);
            for (; *q; q++) /* a phrase holding quotes leaves them balanced */
                quoted ^= *q == '\'';
        } else {
            if (*p == '\'')
                quoted = !quoted;
            sr_buf_append(&b, p, 1);
            p++;
        }
    }
    if (b.failed || !b.data) {
        sr_buf_free(&b);
        return en;
    }
    free(en);
    return b.data;
}
