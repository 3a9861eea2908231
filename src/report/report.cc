#include "reco/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace reco {
namespace {

// Colour-blind-safe palette (Okabe–Ito).
constexpr const char* kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                   "#E69F00", "#56B4E9", "#000000"};

// A "nice" tick step (1, 2 or 5 × 10^n) giving about `target` ticks on span.
double NiceStep(double span, int target) {
  if (!(span > 0)) return 1;
  double raw = span / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return nice * mag;
}

std::string FormatTick(double v, double step) {
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return fmt::format("{:.{}f}", v, std::min(decimals, 6));
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderSvgLineChart(const LineChart& chart, int width, int height) {
  const double left = 60, right = 150, top = 30, bottom = 45;
  const double pw = width - left - right, ph = height - top - bottom;
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  double ymin = xmin, ymax = -xmin;
  for (const auto& s : chart.series) {
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1;
  double ypad = (ymax - ymin) * 0.05;
  ymin -= ypad;
  ymax += ypad;
  double xstep = NiceStep(xmax - xmin, 6), ystep = NiceStep(ymax - ymin, 5);
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
  auto py = [&](double y) { return top + (1 - (y - ymin) / (ymax - ymin)) * ph; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\" role=\"img\" aria-label=\"{}\">\n",
      width, height, width, height, HtmlEscape(chart.title));
  svg += fmt::format("<text x=\"{}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>\n",
                     left, HtmlEscape(chart.title));
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", left,
      top, pw, ph);
  for (double t = std::ceil(xmin / xstep) * xstep; t <= xmax + 1e-9 * xstep; t += xstep) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
        px(t), top, top + ph, top + ph + 14, FormatTick(t, xstep));
  }
  for (double t = std::ceil(ymin / ystep) * ystep; t <= ymax + 1e-9 * ystep; t += ystep) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#eee\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
        left, py(t), left + pw, left - 4, py(t) + 4, FormatTick(t, ystep));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     left + pw / 2, height - 8, HtmlEscape(chart.x_label));
  svg += fmt::format(
      "<text transform=\"translate(14 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      top + ph / 2, HtmlEscape(chart.y_label));
  for (size_t si = 0; si < chart.series.size(); ++si) {
    const auto& s = chart.series[si];
    const char* color = kColors[si % std::size(kColors)];
    std::string points;
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      points += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", px(s.x[i]),
                         py(s.y[i]), color);
    }
    if (!points.empty()) {
      svg += fmt::format(
          "\n<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points,
          color);
    }
    double ly = top + 10 + 18 * static_cast<double>(si);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
        "stroke-width=\"2\"/><text x=\"{4:.1f}\" y=\"{5:.1f}\">{6}</text>\n",
        left + pw + 10, ly, left + pw + 30, color, left + pw + 36, ly + 4, HtmlEscape(s.name));
  }
  svg += "</svg>\n";
  return svg;
}

std::string RenderHtmlReport(const HtmlReport& report) {
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>{0}</title>\n<style>\n"
      "body{{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}}\n"
      "table{{border-collapse:collapse;margin:0.5em 0 1.5em}}\n"
      "th,td{{border:1px solid #ccc;padding:4px 10px;text-align:left}}\n"
      "th{{background:#f3f3f3}} td.num{{text-align:right;font-variant-numeric:tabular-nums}}\n"
      ".sub{{color:#666}}\n</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
      HtmlEscape(report.title));
  if (!report.subtitle.empty()) {
    html += fmt::format("<p class=\"sub\">{}</p>\n", HtmlEscape(report.subtitle));
  }
  for (const auto& table : report.tables) {
    html += fmt::format("<h2>{}</h2>\n<table>\n<tr>", HtmlEscape(table.title));
    for (const auto& h : table.header) html += fmt::format("<th>{}</th>", HtmlEscape(h));
    html += "</tr>\n";
    for (const auto& row : table.rows) {
      html += "<tr>";
      for (const auto& cell : row) {
        bool numeric = !cell.empty() && (std::isdigit(static_cast<unsigned char>(cell[0])) ||
                                         cell[0] == '-' || cell[0] == '.');
        html += fmt::format("<td{}>{}</td>", numeric ? " class=\"num\"" : "", HtmlEscape(cell));
      }
      html += "</tr>\n";
    }
    html += "</table>\n";
  }
  for (const auto& chart : report.charts) html += RenderSvgLineChart(chart);
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace reco
