/* ppl/ppl.h: the mini-Pyro, everything a model/guide author includes.
 *
 * Layout: core/ (context, messages, primitives, plates, traces), handlers/ (poutine),
 * dist/ (distributions and the KL registry), infer/ (ELBOs, SVI), store/ (param store and
 * safetensors). Conventions (ownership, errors) are in each header; docs/ppl.md sets every
 * Pyro construct beside its C spelling.
 *
 *   static void model(ppl_ctx *ctx, void *args) {
 *       struct nn_tensor *x = args;
 *       struct nn_tensor *mu = ppl_sample(ctx, "mu", ppl_normal(ctx, nn_scalar(ctx->nn, 0), nn_scalar(ctx->nn, 1)), NULL);
 *       PPL_PLATE(ctx, p, "data", x->shape[0], 0, -1) ppl_sample(ctx, "x", ppl_normal(ctx, mu, nn_scalar(ctx->nn, 1)), x);
 *   }
 */
#ifndef PPL_PPL_H
#define PPL_PPL_H

#include "ppl/core/ctx.h"
#include "ppl/core/plate.h"
#include "ppl/core/primitives.h"
#include "ppl/core/trace.h"
#include "ppl/dist/dist.h"
#include "ppl/handlers/handlers.h"
#include "ppl/infer/infer.h"
#include "ppl/store/store.h"

#endif
