/* messages.c -- the message catalogue (English and French) and the
 * process-wide language of diagnostics. */
#include "messages.h"

#include <string.h>

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
