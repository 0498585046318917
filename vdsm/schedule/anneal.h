/* vdsm/schedule/anneal.h: the annealed quantities, one table.
 *
 * Each row is one quantity that a schedule sets per epoch: its field in struct vdsm_args (what
 * the model and guide read), its spec key under stageN.schedules, its column in `vdsm schedule`,
 * its title in plots, its label in train.log, its role (what evaluation sets it to), its doc
 * line and the defaults of both stages (the release's settings). The spec struct, the schema,
 * validation, the trainer, metrics.jsonl, the report, `vdsm schedule` and evaluation all loop
 * over this list; adding a quantity is one row here plus the model code that reads the field.
 *
 *   for (int q = 0; q < VDSM_SCHED_COUNT; q++)
 *       a.annealed[q] = (float)vdsm_schedule_value(&ss->schedules.at[q], epoch, ss->epochs);
 *   printf("%s = %g\n", vdsm_annealed[VDSM_SCHED_POSE_KL].key, a.anneal_t);
 */
#ifndef VDSM_SCHEDULE_ANNEAL_H
#define VDSM_SCHEDULE_ANNEAL_H

/* what evaluation (vdsm eval's test ELBO) sets the quantity to */
enum vdsm_anneal_role {
    VDSM_ROLE_TEMPERATURE, /* model.test_temperature */
    VDSM_ROLE_SCALE,       /* 1: the unannealed ELBO */
};

/* X(ID, field, key, column, title, log, role, doc, stage-1 default, stage-2 default)
 * log: the text before the value in train.log's epoch line */
#define VDSM_ANNEALED(X)                                                                                   \
    X(ID_TEMP, temp, identity_temperature, "id_temp", "identity temperature", ", temp ",                    \
      VDSM_ROLE_TEMPERATURE, "Temperature multiplying the identity before the softmax over experts.",       \
      "{curve: original_temp_id, temp_id_start: 1, temp_id_end: 10, temp_id_frac: 2}",                     \
      "{curve: original_temp_id, temp_id_start: 10, temp_id_end: 10, temp_id_frac: 1}")                    \
    X(ID_KL, anneal_id, identity_kl, "id_kl", "identity KL", ", KL scales id ", VDSM_ROLE_SCALE,            \
      "Scale of the identity KL term.",                                                                    \
      "{curve: original_anneal_id, anneal_start_id: 0.1, anneal_end_id: 1, anneal_frac_id: 3}",            \
      "{curve: original_anneal_id, anneal_start_id: 0.1, anneal_end_id: 1, anneal_frac_id: 3}")            \
    X(POSE_KL, anneal_t, pose_kl, "pose_kl", "pose KL", " pose ", VDSM_ROLE_SCALE,                          \
      "Scale of the pose (z) KL terms.",                                                                   \
      "{curve: original_anneal_t, anneal_start_t: 30, anneal_mid_t1: 0.2, anneal_mid_t2: 0.4, "            \
      "anneal_end_t: 1, anneal_t_midfrac1: 0.5, anneal_t_midfrac2: 0.8}",                                  \
      "{curve: original_anneal_t, anneal_start_t: 0.1, anneal_mid_t1: 0.4, anneal_mid_t2: 0.4, "           \
      "anneal_end_t: 1, anneal_t_midfrac1: 0.5, anneal_t_midfrac2: 0.8}")                                  \
    X(DYN_KL, anneal_dyn, dynamics_kl, "dynamics_kl", "dynamics KL", " dyn ", VDSM_ROLE_SCALE,              \
      "Scale of the dynamics (dz) KL term.",                                                               \
      "{curve: original_anneal_dynamics, anneal_start_dynamics: 0.1, anneal_end_dynamics: 0.6, "           \
      "anneal_frac_dynamics: 1}",                                                                          \
      "{curve: original_anneal_dynamics, anneal_start_dynamics: 0.1, anneal_end_dynamics: 1, "             \
      "anneal_frac_dynamics: 1}")

enum {
#define VDSM_X(id, ...) VDSM_SCHED_##id,
    VDSM_ANNEALED(VDSM_X)
#undef VDSM_X
    VDSM_SCHED_COUNT
};

struct vdsm_anneal_info {
    const char *key;     /* "pose_kl": stageN.schedules.<key>, metrics.jsonl's schedule.<key> */
    const char *column;  /* `vdsm schedule` column */
    const char *title;   /* plot panel title */
    const char *log;     /* train.log label, with its separator */
    enum vdsm_anneal_role role;
    const char *doc;
    const char *def[2];  /* defaults of stage 1 and stage 2 (YAML) */
};

extern const struct vdsm_anneal_info vdsm_annealed[VDSM_SCHED_COUNT];

#endif
