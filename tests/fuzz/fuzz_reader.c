/* fuzz_reader.c -- libFuzzer harness: the case reader plus the case schema
 * validator, on any bytes, as YAML and as JSON Lines. The shipped rule set
 * is opened once for its Lua state and its compiled case schema; every
 * input is read document by document to its end, each document validated. */
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "reader.h"
#include "validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sr_engine_t *engine;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sr_diag_t d;
    sr_diag_init(&d);
    if (sr_engine_open(&engine, SR_SOURCE_DIR "/rules/spine-metastasis-lung/1.0.0", &d) != SR_OK) {
        sr_diag_print(&d, stderr);
        abort();
    }
    return 0;
}

static void read_all(const uint8_t *data, size_t size, sr_input_format_t fmt)
{
    lua_State *L = engine->sb.L;
    int top = lua_gettop(L);
    sr_reader_t *rd = NULL;
    sr_diag_t d;
    sr_diag_init(&d);
    if (sr_reader_open_mem(&rd, "fuzz", (const char *)data, size, fmt, NULL, &d) != SR_OK) {
        sr_diag_free(&d);
        return;
    }
    sr_idset_t *ids = sr_idset_new();
    sr_case_report_t rep;
    sr_case_report_init(&rep);
    for (int docs = 0; docs < 10000; docs++) {
        sr_status_t st = sr_reader_next(rd, L, &d);
        sr_diag_free(&d);
        if (st == SR_DONE)
            break;
        if (st == SR_OK) {
            sr_case_report_reset(&rep);
            sr_case_validate(engine->case_sch, L, -1, rd, NULL, 0, ids, &rep);
            sr_reader_doc_id(rd);
            int line, col;
            sr_reader_locate(rd, NULL, 0, 0, &line, &col);
        }
        lua_settop(L, top);
    }
    sr_case_report_free(&rep);
    sr_idset_free(ids);
    sr_reader_close(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_all(data, size, SR_IN_YAML);
    read_all(data, size, SR_IN_JSONL);
    lua_gc(engine->sb.L, LUA_GCCOLLECT, 0);
    return 0;
}
