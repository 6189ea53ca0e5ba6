/* `infopro train`: train's loop (train.c) on the model, its split searched and its module programs
 * built now (train_model.h). */
#include "train_model.h"

#include "commands.h"
#include "ir/kernel_compiler.h"
#include "training_split.h"

int ipro_cli_train(int argc, char **argv) {
  static const ipro_cli_train_model model = {.preload = ipro_kernel_compiler_preload,
                                             .split = ipro_cli_split_for_training,
                                             .create_trainer = ipro_trainer_create};
  return ipro_cli_train_loop(argc, argv, &model);
}
