// Saving and loading the MLP as a .npz checkpoint (the format of docs/checkpoint.md),
// optionally with the training state needed to resume a run.
#pragma once

#include <string>

#include "frugal/trainer/model.h"
#include "frugal/trainer/train.h"

namespace frugal::trainer {

// Writes dense_N/kernel ([inputs, units], C order), dense_N/bias and architecture.json.
// The archive is written atomically, so a failed write leaves any previous file intact.
// `description` is free text for the architecture record (optimizer, epochs, seed).
void SaveCheckpoint(const std::string& path, const Mlp& model, const std::string& description);

// Writes state.model as SaveCheckpoint does, plus the members Train needs to resume:
// optimizer/training.json (epochs done, generator state, optimizer name, slot names and
// step counts), optimizer/<variable>/<slot> arrays shaped like their variable, and
// during the retrain phase optimizer/mask/<variable> (1 = trainable, 0 = fixed at 0).
// frugal-convert ignores everything under optimizer/.
void SaveTrainState(const std::string& path, const TrainState& state, const std::string& description);

// Reads a checkpoint written by SaveCheckpoint or by the Python recipe in the format
// document. Throws TrainerError naming the file, member and value for any missing
// array, shape mismatch, non-finite weight or invalid architecture field.
Mlp LoadCheckpoint(const std::string& path);

// Reads a checkpoint written by SaveTrainState. Throws TrainerError as LoadCheckpoint
// does, and when optimizer/training.json or an array it lists is missing or invalid.
TrainState LoadTrainState(const std::string& path);

}  // namespace frugal::trainer
