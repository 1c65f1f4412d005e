// Saving and loading the MLP as a .npz checkpoint (the format of docs/checkpoint.md).
#pragma once

#include <string>

#include "frugal/trainer/model.h"

namespace frugal::trainer {

// Writes dense_N/kernel ([inputs, units], C order), dense_N/bias and architecture.json.
// The archive is written atomically, so a failed write leaves any previous file intact.
// `description` is free text for the architecture record (optimizer, epochs, seed).
void SaveCheckpoint(const std::string& path, const Mlp& model, const std::string& description);

// Reads a checkpoint written by SaveCheckpoint or by the Python recipe in the format
// document. Throws TrainerError naming the file, member and value for any missing
// array, shape mismatch, non-finite weight or invalid architecture field.
Mlp LoadCheckpoint(const std::string& path);

}  // namespace frugal::trainer
