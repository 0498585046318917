/* nn/nn.h: everything a user of the tensor library includes. */
#ifndef NN_NN_H
#define NN_NN_H

#include "nn/ops.h"
#include "nn/rng.h"
#include "nn/status.h"
#include "nn/tensor.h"

#endif
