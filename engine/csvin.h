/* csvin.h -- reads cases from a CSV file, one case per row, through libcsv,
 * into the same Lua values the YAML reader builds (so validation and rules
 * see no difference). The columns are named after the case schema's fields
 * (docs/csv.md): "id", "patient.karnofsky", "spine.metastatic_levels" (a list:
 * items separated by spaces or commas, "[]" for an empty list), and for each
 * element of a list of mappings (spine.lesions) "lesion1.level",
 * "lesion1.pain", ..., "lesion2.level", ... An empty cell is unknown (the
 * field is absent). Cells are typed by the schema: a cell reads as a number
 * or a boolean only where the field accepts one, as the YAML reader would
 * read the same text; anything else stays text, and the validator says why.
 *
 * Positions: a row is the line where its record starts (the header is row
 * 1 in a file without multi-line cells, as a spreadsheet numbers them); a
 * problem names the column. In an sr_diag_t or an sr_verror_t: line = row,
 * column = the column's 1-based number, path = the column's name (for a
 * problem about the whole case: "id"). Printed "file:row:column-name: error:
 * message" (sr_csvin_diag_print, sr_csvin_report_print). */
#ifndef SR_CSVIN_H
#define SR_CSVIN_H

#include <lua.h>
#include <stdio.h>

#include "spinerules.h"
#include "validate.h"

typedef struct sr_csvin sr_csvin_t;

/* 1 when path is to be read as CSV: fmt SR_IN_CSV, or SR_IN_AUTO and a name
 * ending in .csv (any case). */
int sr_csvin_wanted(const char *path, sr_input_format_t fmt);

/* Opens path ("-" for standard input), or len bytes at data (copied) when
 * data is not NULL, and reads its header row. schema_path is the case schema
 * the columns are taken from (read with L, which is left as it was). On a
 * header problem returns SR_ERR_SCHEMA with *d positioned at the header
 * cell; SR_ERR_IO or SR_ERR_NOMEM otherwise; *out is then NULL. */
sr_status_t sr_csvin_open(sr_csvin_t **out, lua_State *L, const char *path, const char *data, size_t len,
                          const char *schema_path, sr_diag_t *d);
void sr_csvin_close(sr_csvin_t *c);

/* Reads the next row and pushes its case [-0, +1]; SR_DONE at the end
 * [-0, +0]; or a problem of this row [-0, +0] with *d filled, after which the
 * next call reads the next row -- unless sr_csvin_fatal says the file cannot
 * be read further (malformed CSV, a row over the size limit, a read error). */
sr_status_t sr_csvin_next(sr_csvin_t *c, lua_State *L, sr_diag_t *d);
int sr_csvin_fatal(const sr_csvin_t *c);

const char *sr_csvin_name(const sr_csvin_t *c);
/* The row of the case last read. */
int sr_csvin_doc_line(const sr_csvin_t *c);
/* The id cell of the row last read (when valid UTF-8 and not empty), or NULL. */
const char *sr_csvin_doc_id(const sr_csvin_t *c);
/* The delimiter found in the header: ',', ';' or '\t'. */
int sr_csvin_delimiter(const sr_csvin_t *c);

/* Rewrites the positions of the problems of the case last read (validated
 * with no reader: paths only) as row, column number and column name. c is
 * an sr_csvin_t (void * to serve as a callback). */
void sr_csvin_relocate(sr_case_report_t *rep, void *c);

/* "file:row:column-name: error: message", then the note. */
void sr_csvin_diag_print(const sr_diag_t *d, FILE *f);
/* Every error and warning of rep, one a line, as sr_csvin_diag_print. */
void sr_csvin_report_print(const sr_case_report_t *rep, const char *file, int row, FILE *f);

/* Writes the columns the case schema at schema_path allows, one a line
 * ("lesionN.<field>" for the elements of a list of mappings), for the
 * documentation and its test. */
sr_status_t sr_csvin_columns(lua_State *L, const char *schema_path, FILE *out, sr_diag_t *d);

#endif
