// Grouped bar charts as standalone SVG, for `weft ring plan|stats --svg`.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

namespace weft::cli {

struct bar_series {
  std::string name;
  std::string color;  // CSS colour, e.g. "#4e79a7"
  std::vector<double> values;
};

// One group of bars per label, one bar per series; an optional dashed
// reference line (e.g. the fair share) when reference > 0.
std::string bar_chart_svg(const std::string& title, const std::string& y_label, const std::vector<std::string>& labels,
                          const std::vector<bar_series>& series, double reference = 0,
                          const std::string& reference_label = {});

}  // namespace weft::cli
