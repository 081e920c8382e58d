#include "svg_chart.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace weft::cli {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string bar_chart_svg(const std::string& title, const std::string& y_label, const std::vector<std::string>& labels,
                          const std::vector<bar_series>& series, double reference, const std::string& reference_label) {
  const double left = 70, right = 20, top = 50, bottom = labels.size() > 40 ? 40 : 110;
  const double group_width = std::clamp(600.0 / std::max<double>(1, static_cast<double>(labels.size())), 3.0, 60.0);
  const double plot_width = group_width * static_cast<double>(labels.size());
  const double width = left + plot_width + right;
  const double height = 420;
  const double plot_height = height - top - bottom;
  double highest = reference;
  for (const auto& s : series) {
    for (double v : s.values) highest = std::max(highest, v);
  }
  if (highest <= 0) highest = 1;
  highest *= 1.1;
  auto y = [&](double v) { return top + plot_height * (1 - v / highest); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{:.0f}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
      std::max(width, 420.0), height, std::max(width, 420.0), height, left, escape(title));
  // Axis and ticks.
  svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"black\"/>\n", left, top,
                     top + plot_height);
  svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"black\"/>\n", left,
                     top + plot_height, left + plot_width);
  for (int tick = 0; tick <= 4; ++tick) {
    const double v = highest / 1.1 * tick / 4;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.4g}</text>\n", left - 4, y(v) + 4, v);
  }
  svg += fmt::format("<text x=\"14\" y=\"{:.1f}\" transform=\"rotate(-90 14 {:.1f})\" text-anchor=\"middle\">{}</text>\n",
                     top + plot_height / 2, top + plot_height / 2, escape(y_label));
  // Bars.
  const double bar_width = group_width * 0.8 / static_cast<double>(std::max<std::size_t>(1, series.size()));
  for (std::size_t g = 0; g < labels.size(); ++g) {
    const double x0 = left + group_width * static_cast<double>(g) + group_width * 0.1;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const double v = g < series[s].values.size() ? series[s].values[g] : 0;
      svg += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"><title>{} {}: {:.6g}</title></rect>\n",
                         x0 + bar_width * static_cast<double>(s), y(v), bar_width, top + plot_height - y(v),
                         series[s].color, escape(labels[g]), escape(series[s].name), v);
    }
    if (labels.size() <= 40) {
      const double cx = x0 + group_width * 0.4;
      svg += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" transform=\"rotate(-50 {0:.1f} {1:.1f})\" text-anchor=\"end\">{2}</text>\n",
                         cx, top + plot_height + 12, escape(labels[g]));
    }
  }
  if (reference > 0) {
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>\n",
                       left, y(reference), left + plot_width, y(reference));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#d62728\" text-anchor=\"end\">{}</text>\n", left + plot_width,
                       y(reference) - 4, escape(reference_label));
  }
  // Legend.
  double lx = left + 260;
  for (const auto& s : series) {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"12\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1f}\" y=\"22\">{}</text>\n",
                       lx, s.color, lx + 16, escape(s.name));
    lx += 30 + 7.0 * static_cast<double>(s.name.size());
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace weft::cli
