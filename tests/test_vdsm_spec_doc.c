/* tests/test_vdsm_spec_doc.c: docs/specs.md is generated from the schema table and must match
 * it. VDSM_REGEN_DOCS=1 rewrites the file instead of failing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vdsm/spec/spec.h"

Test(vdsm_spec_doc, specs_md_is_current)
{
    char *want = vdsm_spec_doc_markdown();
    cr_assert(want);
    const char *path = tu_source_path("docs/specs.md");
    const char *regen = getenv("VDSM_REGEN_DOCS");
    if (regen && !strcmp(regen, "1")) {
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fputs(want, f);
        fclose(f);
    }
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s is missing: run VDSM_REGEN_DOCS=1 test_vdsm_spec_doc", path);
    static char got[1 << 20];
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = '\0';
    cr_assert(!strcmp(got, want), "docs/specs.md is out of date: run VDSM_REGEN_DOCS=1 test_vdsm_spec_doc");
    free(want);
}
