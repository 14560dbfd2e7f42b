/* shipped.h -- for the unit suites: an engine over the shipped rule set. */
#ifndef SR_TEST_SHIPPED_H
#define SR_TEST_SHIPPED_H

#include <criterion/criterion.h>

#include "engine.h"

#define SHIPPED_RULES SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0"

/* Opens the shipped rule set, or fails the test with the engine's message. */
static inline sr_engine_t *open_shipped_engine(void)
{
    sr_engine_t *e = NULL;
    sr_diag_t why;
    sr_diag_init(&why);
    cr_assert_eq(sr_engine_open(&e, SHIPPED_RULES, &why), SR_OK, "%s", why.message ? why.message : "");
    sr_diag_free(&why);
    return e;
}

#endif
