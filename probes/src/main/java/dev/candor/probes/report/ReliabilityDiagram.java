package dev.candor.probes.report;

import dev.candor.probes.metrics.Metrics;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A reliability diagram (DeGroot &amp; Fienberg 1983; Guo et al. 2017, "On Calibration of Modern Neural Networks"):
 * per equal-width bin of predicted p(correct), the observed fraction correct against the mean prediction, with the
 * diagonal y = x of perfect calibration for reference. Points below the diagonal are overconfident. Each point is
 * labelled with its bin's count, and the counts are also drawn as a histogram on the right axis, since a bin of
 * five predictions says little. Empty bins have no point. The bins are those of {@link Metrics#reliability}, so the
 * picture and the ECE agree. Drawn with XChart, headless.
 */
public final class ReliabilityDiagram {
  private static final int WIDTH = 640;
  private static final int HEIGHT = 600;

  private ReliabilityDiagram() {}

  /** Draws the diagram of predictions {@code p} [n] and labels {@code y} [n] in {@code bins} bins to a PNG file. */
  public static void write(Path png, String title, double[] p, boolean[] y, int bins) {
    System.setProperty("java.awt.headless", "true"); // before the first AWT class loads: no display on servers
    Metrics.Bin[] reliability = Metrics.reliability(p, y, bins);

    XYChart chart = new XYChartBuilder()
        .width(WIDTH).height(HEIGHT)
        .title(title + " (n = " + p.length + ")")
        .xAxisTitle("mean predicted p(correct)")
        .yAxisTitle("observed fraction correct")
        .build();
    XYStyler styler = chart.getStyler();
    styler.setXAxisMin(0.0).setXAxisMax(1.0);
    styler.setYAxisMin(0, 0.0).setYAxisMax(0, 1.0); // group 0: fractions, left
    styler.setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    styler.setLegendPosition(Styler.LegendPosition.OutsideS);
    styler.setLegendLayout(Styler.LegendLayout.Horizontal);
    styler.setChartBackgroundColor(Color.WHITE);

    // histogram of counts per bin, right axis scaled so that it fills the lower third: steps at the bin edges
    double[] edges = new double[bins + 1]; // [bins + 1]
    double[] counts = new double[bins + 1]; // [bins + 1], the last repeating the last bin's to close the step
    int maxCount = 0;
    for (int b = 0; b < bins; b++) {
      edges[b] = reliability[b].lo();
      counts[b] = reliability[b].count();
      maxCount = Math.max(maxCount, reliability[b].count());
    }
    styler.setYAxisMin(1, 0.0).setYAxisMax(1, 3.0 * maxCount);
    edges[bins] = 1.0;
    counts[bins] = reliability[bins - 1].count();
    XYSeries histogram = chart.addSeries("predictions per bin", edges, counts);
    histogram.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
    histogram.setYAxisGroup(1);
    histogram.setMarker(SeriesMarkers.NONE);
    histogram.setFillColor(new Color(180, 180, 180, 90));
    histogram.setLineColor(new Color(150, 150, 150));
    chart.setYAxisGroupTitle(1, "predictions per bin");

    XYSeries diagonal = chart.addSeries("perfect calibration", new double[] {0, 1}, new double[] {0, 1});
    diagonal.setMarker(SeriesMarkers.NONE);
    diagonal.setLineColor(Color.DARK_GRAY);
    float[] dashes = {6f, 4f};
    diagonal.setLineStyle(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, dashes, 0f));

    // observed against predicted, non-empty bins only
    List<Double> predicted = new ArrayList<>();
    List<Double> observed = new ArrayList<>();
    for (Metrics.Bin bin : reliability) {
      if (bin.count() > 0) {
        predicted.add(bin.meanPredicted());
        observed.add(bin.observed());
        double labelY = bin.observed() > 0.9 ? bin.observed() - 0.04 : bin.observed() + 0.04; // keep inside the plot
        chart.addAnnotation(new AnnotationText("n=" + bin.count(), bin.meanPredicted(), labelY, false));
      }
    }
    XYSeries calibration = chart.addSeries(
        String.format(Locale.ROOT, "observed (ECE %.3f)", Metrics.ece(p, y, bins)), predicted, observed);
    calibration.setMarker(SeriesMarkers.CIRCLE);
    calibration.setLineColor(new Color(31, 119, 180));
    calibration.setMarkerColor(new Color(31, 119, 180));

    try {
      BitmapEncoder.saveBitmap(chart, png.toString(), BitmapFormat.PNG);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write reliability diagram " + png, e);
    }
  }
}
