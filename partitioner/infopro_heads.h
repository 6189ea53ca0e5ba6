/* InfoPro's auxiliary heads, generated as ordinary IR at the output h of a local module (every
 * module but the last), so they train through the same autodiff, planner and kernels:
 *
 * - the decoder, in one of two forms; its loss is the binary cross-entropy against the image
 *   with the dataset normalisation undone (pixels in [0, 1]):
 *   - "paper": h upsampled bilinearly (align_corners) to the input image's size, conv3x3
 *     C→12, BN, ReLU, conv3x3 12→image channels, Sigmoid. Its upsampled C-channel tensor (and
 *     that tensor's gradient) grows with the image, not with the cut: on a 64-channel cut of a
 *     64×64 input it alone outweighs what the cut saves;
 *   - "reduced": the same layers at the cut's own resolution (conv3x3 C→12, BN, ReLU,
 *     conv3x3 12→image channels, Sigmoid), compared with the image resized bilinearly
 *     (half_pixel, as PyTorch's interpolate without align_corners) to the cut's height and
 *     width: nothing of the image's size is built, so its cost is bounded by the cut's.
 *     (Reducing to 12 channels first and upsampling those was tried: on SqueezeNet 1.1 at
 *     64×64, batch 64, its 12 full-resolution channels and their gradients still cost 32 MB, and
 *     the plan stayed 8.7% above end to end);
 * - the classifier head "<n>c<m>f": n conv3x3-BN-ReLU stages (the first C→(C<64 ? 2C : C) with
 *   stride (C<64 ? 2 : 1)), global average pooling, m fully connected layers (hidden width 128,
 *   ReLU between), ending in 128 features for the contrastive loss or one logit per class for
 *   cross-entropy.
 *
 * At a feature vector [N, F] (a cut inside an MLP) the decoder is a linear layer to the image's
 * pixels and a Sigmoid, compared with the flattened image, and the classifier head is its fully
 * connected layers alone.
 *
 * The heads' weights are initialised as PyTorch initialises Conv2d/Linear (uniform within
 * ±1/sqrt(fan_in)) from a seed, BN with weight 1, bias 0, running mean 0 and variance 1. They are
 * trainable initializers of the module (counted in its persistent bytes) and are never written
 * back into the trained ONNX file. */
#ifndef IPRO_INFOPRO_HEADS_H
#define IPRO_INFOPRO_HEADS_H

#include "codegen/training_graph.h"
#include "ir/local_settings.h"

/* The largest classifier head --aux-head takes: <n>c<m>f with n convolutions and m fully
 * connected layers. */
#define IPRO_HEAD_MAX_CONVS 3
#define IPRO_HEAD_MAX_FCS 3

/* Parses "0c1f", "0c2f", "1c1f", "1c2f", "2c2f" (any n in 0..3, m in 1..3) into options. */
ipro_status ipro_head_parse(const char *text, ipro_head_options *options, ipro_error *err);
/* Parses "paper" or "reduced". */
ipro_status ipro_decoder_parse(const char *text, ipro_decoder_kind *decoder, ipro_error *err);
const char *ipro_decoder_name(ipro_decoder_kind decoder);

/* Whether the rank-4 cut tensor of network is a feature map laid out [N, H, W, C] (the Swin
 * Transformer's stages; torchvision's ConvNeXt blocks in between): a node that reads it is a
 * LayerNormalization over its last axis or a MatMul. */
bool ipro_heads_cut_is_channels_last(const ipro_graph *network, int tensor);
/* Keeps, in place and in order, the cut points (tensor indices of network) where the heads can
 * attach: a feature map [N, C, H, W] (or [N, H, W, C]), a token sequence [N, T, D] (a
 * transformer's; the heads read the mean of its tokens, a feature vector) or a feature vector
 * [N, F], the batch first (its extent network->batch, or symbolic); returns how many. Where a
 * kept tensor has another axis of the batch's extent (a recurrent layer's [T, N, D] at a batch
 * of T), the first could be that other one: network's shapes are inferred once more at the next
 * batch, which tells the batch's axis, then again at its own. */
int ipro_heads_attachable_cuts(ipro_graph *network, int *cut_points, int n_cut_points);

/* Appends both heads to module (shapes inferred at its batch) at its first graph output. image:
 * the tensor holding the network's normalised input in this module's graph (the module's own
 * input for the first module; otherwise pass -1 and a graph input "image" of image_shape is
 * added). Writes the loss terms (reconstruction, then auxiliary) with their weights into terms
 * and their number into *n_terms: a head whose λ is zero is not built at all, since it would
 * only cost memory and time. Module is inferred again at its batch. *start lists the weights drawn
 * from options->seed, in the order drawn, and the normalisation's constants (release it, also
 * after a failure). */
ipro_status ipro_heads_append(ipro_graph *module, int image, const ipro_shape *image_shape,
                              const ipro_head_options *options, const char *prefix,
                              ipro_loss_term terms[2], int *n_terms, ipro_start_values *start,
                              ipro_error *err);

#endif
