// Self-contained HTML reports: tables of parameters and metrics plus line
// charts drawn as inline SVG, so a report is one file that opens anywhere
// (no scripts, no network, no external CSS).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace reco {

struct ChartSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
};

struct ReportTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct HtmlReport {
  std::string title;
  std::string subtitle;  // e.g. data set, date, command line
  std::vector<ReportTable> tables;
  std::vector<LineChart> charts;
};

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(const std::string& text);

// An <svg> element plotting every series against shared, padded axes with
// tick labels and a legend. Series with no points are listed but not drawn.
std::string RenderSvgLineChart(const LineChart& chart, int width = 640, int height = 320);

std::string RenderHtmlReport(const HtmlReport& report);

}  // namespace reco
