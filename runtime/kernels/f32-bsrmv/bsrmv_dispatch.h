// The choice of index width and activation that every block CSR kernel file makes the same
// way. Internal to the runtime's kernels.
#pragma once

#include <cstdint>

namespace frugal::kernels {

// Calls Kernel<Index, kRelu>::Run with the column indices that are present (uint16 or
// uint32) and with `relu`. Each kernel file passes its own Kernel templates, which live
// in an unnamed namespace, so every instantiation is local to the file and keeps that
// file's instruction set.
template <template <typename, bool> class Kernel>
void DispatchBsrmv(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                   const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                   float* y) {
  if (col_u16 != nullptr) {
    if (relu) {
      Kernel<std::uint16_t, true>::Run(rows, block_row_ptr, col_u16, values, x, bias, y);
    } else {
      Kernel<std::uint16_t, false>::Run(rows, block_row_ptr, col_u16, values, x, bias, y);
    }
  } else if (relu) {
    Kernel<std::uint32_t, true>::Run(rows, block_row_ptr, col_u32, values, x, bias, y);
  } else {
    Kernel<std::uint32_t, false>::Run(rows, block_row_ptr, col_u32, values, x, bias, y);
  }
}

}  // namespace frugal::kernels
