/* Which CUDA device a process trains on, among the `devices` the driver shows it (after
 * CUDA_VISIBLE_DEVICES): the CUDA plugin asks at start-up (runtime/cuda/cuda_backend.c).
 *   - IPRO_CUDA_DEVICE=N names one: an index from 0 to devices - 1, or one message and no device.
 *   - Otherwise, under an MPI launcher, the ranks on one machine take its devices in turn: the
 *     process's rank among that machine's ranks (Open MPI's OMPI_COMM_WORLD_LOCAL_RANK, MPICH's
 *     MPI_LOCALRANKID, Slurm's SLURM_LOCALID, the first set) modulo the devices, so that
 *     `mpirun -np 4 infopro train ... --device cuda` on a machine of four GPUs gives every module
 *     a GPU of its own; more ranks than devices share them in turn.
 *   - Otherwise device 0.
 * Plain C (no CUDA): tests/runtime/test_cuda_device.c checks it where there is no GPU. */
#ifndef IPRO_CUDA_DEVICE_H
#define IPRO_CUDA_DEVICE_H

#include "ir/error.h"

ipro_status ipro_cuda_device_choose(int devices, int *device, ipro_error *err);

#endif
