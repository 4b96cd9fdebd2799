#include "signal/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/xml_text.h"

namespace trialcore::signal {
namespace {

std::string Fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

}  // namespace

std::string PlotEb05AgainstN(const SignalResult& r, size_t labels) {
  constexpr double kWidth = 960, kHeight = 640, kLeft = 70, kRight = 380, kTop = 40, kBottom = 60;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  double max_n = 1, max_eb = 2.5;
  for (const auto& row : r.rows) {
    max_n = std::max<double>(max_n, row.n);
    if (std::isfinite(row.eb.eb05)) max_eb = std::max(max_eb, row.eb.eb05);
  }
  const double log_max = std::max(1.0, std::ceil(std::log10(max_n)));
  max_eb = std::ceil(max_eb * 1.05);
  auto x = [&](double n) { return kLeft + plot_w * std::log10(std::max(1.0, n)) / log_max; };
  auto y = [&](double eb) { return kTop + plot_h * (1 - std::min(eb, max_eb) / max_eb); };

  std::string svg =
      Fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n",
          kWidth, kHeight);
  svg += Fmt("<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", kWidth, kHeight);
  svg += "<text x=\"70\" y=\"24\" font-size=\"16\">EB05 against number of reports (" + std::to_string(r.rows.size()) +
         " product-event pairs)</text>\n";
  // Axes, ticks and the threshold.
  svg += Fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" ", kLeft, kTop + plot_h, kLeft + plot_w) +
         Fmt("y2=\"%.1f\" stroke=\"black\"/>\n", kTop + plot_h);
  svg += Fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" ", kLeft, kTop, kLeft) +
         Fmt("y2=\"%.1f\" stroke=\"black\"/>\n", kTop + plot_h);
  for (int p = 0; p <= static_cast<int>(log_max); ++p) {
    double n = std::pow(10.0, p);
    svg += Fmt("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x(n), kTop + plot_h + 18, n);
  }
  svg += Fmt("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">N (reports, log scale)</text>\n", kLeft + plot_w / 2,
             kHeight - 15);
  for (int i = 0; i <= 5; ++i) {
    double eb = max_eb * i / 5;
    svg += Fmt("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", kLeft - 6, y(eb) + 4, eb);
  }
  svg += Fmt("<text x=\"18\" y=\"%.1f\" transform=\"rotate(-90 18 %.1f)\" text-anchor=\"middle\">EB05</text>\n",
             kTop + plot_h / 2, kTop + plot_h / 2);
  svg += Fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" ", kLeft, y(2), kLeft + plot_w) +
         Fmt("y2=\"%.1f\" stroke=\"#c0392b\" stroke-dasharray=\"6 4\"/>\n", y(2));
  svg += Fmt("<text x=\"%.1f\" y=\"%.1f\" fill=\"#c0392b\">EB05 = 2</text>\n", kLeft + plot_w - 60, y(2) - 5);
  // Points, signals in red.
  for (const auto& row : r.rows) {
    if (!std::isfinite(row.eb.eb05)) continue;
    bool signal = row.eb.eb05 >= 2;
    svg += Fmt("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" ", x(row.n), y(row.eb.eb05), signal ? 3.0 : 2.0) +
           (signal ? "fill=\"#c0392b\" fill-opacity=\"0.8\"/>\n" : "fill=\"#2c3e50\" fill-opacity=\"0.25\"/>\n");
  }
  // The strongest pairs, labelled in a column to the right with leader lines.
  std::vector<const SignalRow*> top;
  for (const auto& row : r.rows) top.push_back(&row);
  std::partial_sort(top.begin(), top.begin() + static_cast<long>(std::min(labels, top.size())), top.end(),
                    [](const SignalRow* a, const SignalRow* b) { return a->eb.eb05 > b->eb.eb05; });
  top.resize(std::min(labels, top.size()));
  for (size_t i = 0; i < top.size(); ++i) {
    const SignalRow& row = *top[i];
    double ly = kTop + 14 + i * (plot_h / std::max<size_t>(labels, 1));
    double lx = kLeft + plot_w + 16;
    svg += Fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" ", x(row.n), y(row.eb.eb05), lx - 4) +
           Fmt("y2=\"%.1f\" stroke=\"#999\" stroke-width=\"0.6\"/>\n", ly - 4);
    std::string label = std::string(row.product) + " / " + std::string(row.event);
    if (label.size() > 42) label = label.substr(0, 41) + "…";
    svg += Fmt("<text x=\"%.1f\" y=\"%.1f\">", lx, ly) + XmlEscape(label) + Fmt(" (%.2f)</text>\n", row.eb.eb05);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace trialcore::signal
