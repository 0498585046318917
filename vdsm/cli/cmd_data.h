/* vdsm/cli/cmd_data.h: shared by the `vdsm data` subcommand files (cmd_data*.c) only: small
 * option-parsing helpers and the subcommand entry points. Each returns an exit code: 0 ok,
 * 1 failure, 2 usage error. */
#ifndef VDSM_CLI_CMD_DATA_H
#define VDSM_CLI_CMD_DATA_H

#include <stddef.h>
#include <stdint.h>

/* If argv[*i] is `name VALUE` or `name=VALUE`, returns VALUE (advancing *i past it), else NULL.
 * Sets *missing when the option is present but has no value. */
const char *vdsm__opt(int argc, char **argv, int *i, const char *name, int *missing);
int vdsm__parse_size(const char *s, size_t lo, size_t hi, size_t *out);
int vdsm__parse_u64(const char *s, uint64_t *out);
int vdsm__is_help(const char *s);
/* Removes OUT's leftover writer temporaries now, and on SIGINT/SIGTERM/SIGHUP before dying. */
void vdsm__data_remove_tmp_on_signal(const char *out);

int vdsm__data_show(int argc, char **argv);
int vdsm__data_bench(int argc, char **argv);
int vdsm__data_mmnist(int argc, char **argv);
int vdsm__data_sprites(int argc, char **argv);
int vdsm__data_mug(int argc, char **argv);

#endif
