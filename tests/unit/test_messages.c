/* test_messages.c -- the message catalogue: both languages take the same
 * printf conversions, and the translations the engine relies on. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "messages.h"

/* The conversions of a printf format, in order ("%s%d%zu"), into out. */
static void conversions(const char *fmt, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        while (*p && strchr("0123456789.-+ #*lhzjt", *p))
            out[n < cap - 1 ? n++ : n] = *p++;
        if (*p)
            out[n < cap - 1 ? n++ : n] = *p;
        out[n < cap - 1 ? n++ : n] = '|';
    }
    out[n] = '\0';
}

Test(messages, both_languages_take_the_same_conversions)
{
    for (int i = 0; i < SR_MSG_COUNT_; i++) {
        char en[64], fr[64];
        conversions(sr_msg_in((sr_msg_t)i, SR_LANG_EN), en, sizeof en);
        conversions(sr_msg_in((sr_msg_t)i, SR_LANG_FR), fr, sizeof fr);
        cr_expect_str_eq(en, fr, "message %d: '%s' vs '%s'", i, sr_msg_in((sr_msg_t)i, SR_LANG_EN),
                         sr_msg_in((sr_msg_t)i, SR_LANG_FR));
    }
}

Test(messages, english_is_the_default_and_left_as_it_is)
{
    cr_assert_eq(sr_get_lang(), SR_LANG_EN);
    cr_assert_str_eq(sr_msg(SR_MSG_ERROR), "error");
    const char *fmt = "unknown option '%s'";
    cr_assert_eq(sr_tr(fmt), fmt, "the same pointer: nothing looked up in English");
    char *m = strdup("unknown field 'x'");
    char *t = sr_tr_message(m);
    cr_assert_eq(t, m);
    free(t);
}

Test(messages, french_by_english_text)
{
    sr_set_lang(SR_LANG_FR);
    cr_assert_str_eq(sr_msg(SR_MSG_WARNING), "avertissement");
    cr_assert_str_eq(sr_tr("unknown option '%s'"), "option inconnue '%s'");
    cr_assert_str_eq(sr_tr("a message the catalogue does not hold"), "a message the catalogue does not hold");
    sr_set_lang(SR_LANG_EN);
}

/* The validator's messages: phrases translated, quoted values kept. */
Test(messages, french_validator_messages)
{
    static const char *const cases[][2] = {
        {"unknown field 'karnofksy' (did you mean 'karnofsky'?)",
         "champ inconnu 'karnofksy' (vouliez-vous dire 'karnofsky' ?)"},
        {"expected one of poor, moderate, good or null, found string 'god' (did you mean 'good'?)",
         "attendu l'une des valeurs poor, moderate, good ou null, trouvé la chaîne 'god' (vouliez-vous dire 'good' ?)"},
        {"expected integer or null, found string 'sixty'", "attendu integer ou null, trouvé la chaîne 'sixty'"},
        {"expected at least 10, found 5", "attendu au moins 10, trouvé 5"},
        {"missing required field 'id'", "champ obligatoire manquant 'id'"},
        {"expected a case (a mapping with an 'id'), found a list of 2 items",
         "attendu un cas (un dictionnaire avec un 'id'), trouvé une liste de 2 éléments"},
        {"expected one lesion per level, found 'T12' again (first at spine.lesions[0])",
         "attendu une lésion par niveau, trouvé 'T12' une seconde fois (la première en spine.lesions[0])"},
        /* a quoted value is never translated, even when it reads like a phrase */
        {"unknown field 'expected or found'", "champ inconnu 'expected or found'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = sr_tr_message_in(SR_LANG_FR, strdup(cases[i][0]));
        cr_expect_str_eq(t, cases[i][1]);
        free(t);
    }
}
