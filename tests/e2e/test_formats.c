/* test_formats.c -- end-to-end: CSV input and output, the HTML report (its
 * text; tests/e2e/html_report.sh renders it in a browser). */
#include <criterion/criterion.h>

#include "harness.h"
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


Test(csv_in, the_example_cases_as_csv_give_the_results_of_the_yaml_file)
{
    run_t y = run("eval docs/examples/cases.yaml");
    run_t c = run("eval docs/examples/cases.csv");
    cr_assert_eq(y.status, 0);
    cr_assert_eq(c.status, 0, "%s", c.err);
    cr_assert_str_eq(c.err, "");
    cr_assert(strlen(y.out) > 1000);
    cr_assert_str_eq(c.out, y.out);
    run_free(&y);
    run_free(&c);
}

Test(csv_in, semicolons_a_byte_order_mark_and_crlf_lines_read_the_same)
{
    run_t y = run("eval docs/examples/cases.yaml");
    run_t c = run("eval tests/data/csv/semicolon-bom-crlf.csv");
    cr_assert_eq(c.status, 0, "%s", c.err);
    /* the first two cases of the examples */
    char *third = strstr(y.out, "{\"id\":\"P-0003\"");
    cr_assert(third);
    *third = '\0';
    cr_assert_str_eq(c.out, y.out);
    run_free(&y);
    run_free(&c);
}

Test(csv_in, a_decimal_comma_reads_as_a_number_when_cells_are_separated_by_semicolons)
{
    run_t y = run("eval tests/data/csv/decimal-comma.yaml");
    run_t c = run("eval tests/data/csv/decimal-comma.csv");
    cr_assert_eq(c.status, 0, "%s", c.err);
    cr_assert_str_eq(c.out, y.out);
    cr_assert(strstr(c.out, "\"id\":\"short_survival\",\"status\":\"present\""));
    run_free(&y);
    run_free(&c);
}

Test(csv_in, every_error_is_positioned_as_file_row_column_name)
{
    run_t r = run("eval tests/data/csv/bad.csv");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err,
                     "tests/data/csv/bad.csv:3:patient.karnofsky: error: expected integer or null, found string 'sixty'\n"
                     "tests/data/csv/bad.csv:3:lesion1.pain: error: expected one of mechanical, non_mechanical, none "
                     "or null, found string 'mech'\n"
                     "tests/data/csv/bad.csv:4:lesion2.level: error: expected a level listed in "
                     "spine.metastatic_levels (T11, T12), found 'L3'\n"
                     "tests/data/csv/bad.csv:5:id: error: expected a case id unique in this file, found 'C-1' again "
                     "(first at row 2)\n"
                     "tests/data/csv/bad.csv:6: error: the row has 9 cells, the header names 8 columns (a cell "
                     "holding the delimiter ',' must be quoted)\n"
                     "tests/data/csv/bad.csv:7:neurology.frankel: error: expected one of A, B, C, D, D1, D2, D3, E or "
                     "null, found string 'X, Y'\n");
    /* the error records: path = the column, line = the row, column = its number */
    cr_assert(strstr(r.out, "{\"id\":\"C-2\",\"error\":{\"message\":\"expected integer or null, found string "
                            "'sixty'\",\"path\":\"patient.karnofsky\",\"line\":3,\"column\":2},\"errors\":["));
    cr_assert(strstr(r.out, "{\"id\":\"C-3\",\"error\":{\"message\":\"expected a level listed in "
                            "spine.metastatic_levels (T11, T12), found 'L3'\",\"path\":\"lesion2.level\",\"line\":4,"
                            "\"column\":7}}"));
    cr_assert(strstr(r.out, "{\"id\":\"C-5\",\"error\":{\"message\":\"the row has 9 cells"));
    cr_assert(strstr(r.out, "\"id\":\"C-1\",\"ruleset\""), "the first C-1 is evaluated");
    run_free(&r);
}

Test(csv_in, an_unknown_column_stops_the_file_with_a_suggestion)
{
    run_t r = run("eval tests/data/csv/unknown-column.csv");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "tests/data/csv/unknown-column.csv:1:2: error: patient.karnofksy: unknown column "
                            "(did you mean 'patient.karnofsky'?)\n");
    cr_assert_str_eq(r.out, "");
    run_free(&r);
}

Test(csv_in, input_format_csv_reads_standard_input)
{
    run_t r = run("eval --input-format csv - < docs/examples/cases.csv");
    run_t y = run("eval docs/examples/cases.yaml");
    cr_assert_eq(r.status, 0, "%s", r.err);
    /* same results; only the error-free examples, so no file name shows */
    cr_assert_str_eq(r.out, y.out);
    run_free(&r);
    run_free(&y);
}

/* ---- CSV output, read back with libcsv ---- */

typedef struct {
    char cells[64][160];
    int ncells;
    char rows[32][64][160];
    int nrows;
    int widths[32];
} table_t;

static void on_cell(void *s, size_t n, void *ud)
{
    table_t *t = ud;
    if (t->ncells < 64) {
        snprintf(t->cells[t->ncells], 160, "%.*s", (int)n, s ? (char *)s : "");
        t->ncells++;
    }
}

static void on_row(int c, void *ud)
{
    table_t *t = ud;
    if (t->nrows < 32) {
        memcpy(t->rows[t->nrows], t->cells, sizeof t->cells);
        t->widths[t->nrows] = t->ncells;
        t->nrows++;
    }
    t->ncells = 0;
}

static const char *cell(table_t *t, int row, const char *column)
{
    for (int i = 0; i < t->widths[0]; i++)
        if (strcmp(t->rows[0][i], column) == 0)
            return t->rows[row][i];
    cr_assert_fail("no column %s", column);
    return NULL;
}

Test(csv_out, one_row_per_case_that_libcsv_reads_back)
{
    run_t r = run("eval --format csv docs/examples/cases.yaml tests/data/csv/bad.csv");
    cr_assert_eq(r.status, 1);
    static table_t t;
    memset(&t, 0, sizeof t);
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
    size_t n = strlen(r.out);
    cr_assert_eq(csv_parse(&p, r.out, n, on_cell, on_row, &t), n);
    cr_assert_eq(csv_fini(&p, on_cell, on_row, &t), 0);
    csv_free(&p);
    cr_assert_eq(t.nrows, 1 + 12 + 6, "a header, 12 examples and 6 rows of bad.csv");
    for (int i = 1; i < t.nrows; i++)
        cr_assert_eq(t.widths[i], t.widths[0], "row %d has %d cells", i, t.widths[i]);
    cr_assert_eq(t.widths[0], 35);
    /* the SPEC example, P-0001 */
    cr_assert_str_eq(cell(&t, 1, "id"), "P-0001");
    cr_assert_str_eq(cell(&t, 1, "recommendation"), "unlikely_benefit");
    cr_assert_str_eq(cell(&t, 1, "frankel.grade"), "D2");
    cr_assert_str_eq(cell(&t, 1, "sins.count"), "1");
    cr_assert_str_eq(cell(&t, 1, "sins1.level"), "T12");
    cr_assert_str_eq(cell(&t, 1, "sins1.total"), "11");
    cr_assert_str_eq(cell(&t, 1, "sins1.category"), "potentially_unstable");
    cr_assert_str_eq(cell(&t, 1, "sins2.level"), "");
    cr_assert_str_eq(cell(&t, 1, "tokuhashi.total"), "4");
    cr_assert_str_eq(cell(&t, 1, "tokuhashi.surgery"), "unlikely_benefit");
    cr_assert_str_eq(cell(&t, 1, "contraindications.disseminated_disease"), "present");
    cr_assert_str_eq(cell(&t, 1, "contraindications.short_survival"), "absent");
    cr_assert_str_eq(cell(&t, 1, "error"), "");
    cr_assert_str_eq(cell(&t, 1, "ruleset.version"), "1.0.0");
    /* P-0006: three lesions, one with an unknown total */
    cr_assert_str_eq(cell(&t, 6, "sins.count"), "3");
    cr_assert_str_eq(cell(&t, 6, "sins3.level"), "L1");
    cr_assert_str_eq(cell(&t, 6, "sins3.total"), "");
    cr_assert_str_eq(cell(&t, 6, "sins3.min"), "8");
    cr_assert_str_eq(cell(&t, 6, "sins3.max"), "14");
    cr_assert_str_eq(cell(&t, 6, "sins3.category"), "indeterminate");
    /* an error row: the message (quoted: it holds commas), the column, the row */
    cr_assert_str_eq(cell(&t, 15, "id"), "C-3");
    cr_assert_str_eq(cell(&t, 15, "error"), "expected a level listed in spine.metastatic_levels (T11, T12), found 'L3'");
    cr_assert_str_eq(cell(&t, 15, "error.path"), "lesion2.level");
    cr_assert_str_eq(cell(&t, 15, "error.line"), "4");
    cr_assert_str_eq(cell(&t, 15, "recommendation"), "");
    cr_assert(strstr(r.out, ",\"expected a level listed in spine.metastatic_levels (T11, T12), found 'L3'\","));
    run_free(&r);
}

/* ---- HTML ---- */

Test(html, one_self_contained_page_with_a_card_per_case)
{
    run_t r = run("eval --format html --lang fr docs/examples/cases.yaml tests/data/csv/bad.csv");
    cr_assert_eq(r.status, 1);
    cr_assert(strncmp(r.out, "<!DOCTYPE html>\n<html lang=\"fr\">", 32) == 0);
    cr_assert(strstr(r.out, "</body>\n</html>\n"));
    cr_assert(!strstr(r.out, "http"), "no external asset, no link");
    cr_assert(!strstr(r.out, "<script"));
    cr_assert(strstr(r.out, "@media print"));
    int cards = 0;
    for (const char *s = r.out; (s = strstr(s, "<article class=\"case")); s++)
        cards++;
    cr_assert_eq(cards, 12 + 6);
    cr_assert(strstr(r.out, "<tr class=\"match\"><td>Normal</td><td class=\"num\">0</td></tr>"));
    cr_assert(strstr(r.out, "<strong>Bénéfice d&#39;une chirurgie très peu probable</strong>"));
    cr_assert(strstr(r.out, "<p class=\"message\">Erreur : patient.karnofsky : expected integer or null, found "
                            "string &#39;sixty&#39; (à 3:2)</p>"));
    run_free(&r);
}

Test(html, english_on_request)
{
    run_t r = run("eval --format html --lang en docs/examples/cases.yaml");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "<html lang=\"en\">"));
    cr_assert(strstr(r.out, "<span class=\"label\">Recommendation: </span><strong>Benefit of surgery very unlikely</strong>"));
    cr_assert(strstr(r.out, "<tr class=\"match\"><td>Normal alignment</td><td class=\"num\">0</td></tr>"));
    run_free(&r);
}
