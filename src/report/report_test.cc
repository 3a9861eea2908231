#include "reco/report.h"

#include <gtest/gtest.h>

#include <cmath>

namespace reco {
namespace {

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(ReportTest, EscapesHtml) {
  EXPECT_EQ(HtmlEscape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
}

TEST(ReportTest, ChartPlotsEveryFinitePoint) {
  LineChart chart{"RMSE <per> iteration", "iteration", "RMSE", {}};
  chart.series.push_back({"train", {1, 2, 3}, {1.0, 0.8, 0.7}});
  chart.series.push_back({"test", {1, 2, 3}, {1.1, NAN, 0.9}});
  std::string svg = RenderSvgLineChart(chart);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(Count(svg, "<circle"), 5);  // the NaN point is skipped
  EXPECT_EQ(Count(svg, "<polyline"), 2);
  EXPECT_NE(svg.find("RMSE &lt;per&gt; iteration"), std::string::npos);
  EXPECT_NE(svg.find(">train</text>"), std::string::npos);
}

// Hand-placed: x in [0,10], y in [0,1] padded by 5% each side, plot area
// left=60, top=30, 430 x 245 for a 640x320 chart. Point (0, 0) lands at
// x=60, y=30+245*(1-0.05/1.1) and point (10, 1) at x=490, y=30+245*(0.05/1.1).
TEST(ReportTest, ChartMapsDataToPlotArea) {
  LineChart chart{"t", "x", "y", {{"s", {0, 10}, {0, 1}}}};
  std::string svg = RenderSvgLineChart(chart);
  EXPECT_NE(svg.find("cx=\"60.0\" cy=\"263.9\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("cx=\"490.0\" cy=\"41.1\""), std::string::npos) << svg;
}

TEST(ReportTest, HtmlIsSelfContained) {
  HtmlReport r;
  r.title = "reco pipeline";
  r.tables.push_back({"Metrics", {"metric", "value"}, {{"rmse", "0.91"}, {"note", "<x>"}}});
  r.charts.push_back({"curve", "i", "v", {{"a", {1, 2}, {3, 4}}}});
  std::string html = RenderHtmlReport(r);
  EXPECT_NE(html.find("<td class=\"num\">0.91</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;x&gt;</td>"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // The only URL is the SVG namespace: nothing is fetched when opened.
  std::string rest = html;
  for (size_t p; (p = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;) {
    rest.erase(p, 26);
  }
  EXPECT_EQ(rest.find("http"), std::string::npos);
}

}  // namespace
}  // namespace reco
