/* tests/test_data_cli.c: `vdsm data` end to end through the real binary (found in
 * $VDSM_BUILD_DIR, skipped when absent): exit codes 0/1/2, --help on every subcommand, a small
 * pendulum set that `data show` summarises and draws, and a malformed file that `show` names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin[4096], dir[64];

static void setup(void)
{
    const char *b = getenv("VDSM_BUILD_DIR");
    snprintf(bin, sizeof bin, "%s/vdsm", b ? b : ".");
    strcpy(dir, "/tmp/vdsm-cli-XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Runs `vdsm ARGS`, output to dir/out.txt; returns the exit code. */
static int run(const char *args)
{
    if (access(bin, X_OK)) cr_skip_test("%s not built", bin);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > out.txt 2>&1", dir, bin, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int output_has(const char *needle)
{
    char path[128], buf[65536];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

TestSuite(data_cli, .init = setup, .fini = teardown);

Test(data_cli, help_and_usage_errors)
{
    static const char *const subs[] = {"pendulum", "mmnist", "sprites", "mug", "show", "bench"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "data %s --help", subs[i]);
        cr_assert_eq(run(args), 0, "%s", args);
        cr_assert(output_has("usage: vdsm data"), "%s", args);
    }
    cr_assert_eq(run("data"), 2);
    cr_assert_eq(run("data nosuch"), 2);
    cr_assert_eq(run("data pendulum --frames"), 2);
    cr_assert_eq(run("data pendulum --frames zero"), 2);
    cr_assert_eq(run("data sprites --variant xyz --lpc x --out y"), 2);
    cr_assert_eq(run("data mmnist --out x"), 2);
}

Test(data_cli, pendulum_then_show)
{
    cr_assert_eq(run("data pendulum --out pend --sequences 40 --frames 10 --seed 5"), 0);
    cr_assert_eq(run("data show pend --sequences 3"), 0);
    cr_assert(output_has("[N=40, T=10, H=64, W=64, C=3]"));
    cr_assert(output_has("factor 0 'bob_colour'"));
    cr_assert(output_has("legend"));
    char p[128];
    snprintf(p, sizeof p, "%s/pend/show_grid.png", dir);
    cr_assert_eq(access(p, R_OK), 0);
    snprintf(p, sizeof p, "%s/pend/show.gif", dir);
    cr_assert_eq(access(p, R_OK), 0);
    cr_assert_eq(run("data show pend/frames.npy --out raw"), 0);
    cr_assert(output_has("shape (40, 10, 64, 64, 3)"));
}

Test(data_cli, show_names_a_malformed_file)
{
    char p[8192];
    const char *src = getenv("VDSM_SOURCE_DIR");
    snprintf(p, sizeof p, "cp '%s/tests/fixtures/data/npy/fortran.npy' '%s/bad.npy'", src ? src : VDSM_SOURCE_DIR, dir);
    cr_assert_eq(system(p), 0);
    cr_assert_eq(run("data show bad.npy"), 1);
    cr_assert(output_has("bad.npy") && output_has("Fortran"));
    cr_assert_eq(run("data show nowhere"), 1);
    cr_assert_eq(run("data pendulum --out ds --sequences 5 --frames 2"), 0);
    snprintf(p, sizeof p, "%s/ds/labels.npy", dir);
    FILE *f = fopen(p, "r+b");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    cr_assert_eq(ftruncate(fileno(f), n - 4), 0);
    fclose(f);
    cr_assert_eq(run("data show ds"), 1);
    cr_assert(output_has("labels.npy") && output_has("truncated"));
}
