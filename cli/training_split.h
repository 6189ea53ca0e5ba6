/* The split a training run (`train`, `compile`) uses when it is made from the model: the model
 * opened at settings->batch, its cut points costed on the device's programs
 * (runtime/module_costing.h), the options' plan chosen (partitioner/plan.h, ipro_plan_choose), and
 * the end-to-end peak for comparison. K = 1 without any split option. Cut names are the network's
 * tensor names. A compiled program's runner has its split already and links none of this. */
#ifndef IPRO_CLI_TRAINING_SPLIT_H
#define IPRO_CLI_TRAINING_SPLIT_H

#include "cli/local_options.h"
#include "runtime/module_costing.h"

ipro_status ipro_cli_split_for_training(const char *model, const ipro_cli_local_options *options,
                                        const ipro_local_settings *settings, ipro_device device,
                                        bool reference, ipro_cli_training_split *out,
                                        ipro_error *err);

/* The line saying what --calibrate measured (nothing without a calibration). */
void ipro_cli_print_calibration(const ipro_module_costing *costing);

#endif
