package dev.candor.probes.report;

/**
 * What a report row summarises: its BSS and ECE in each cross-validation fold, the bootstrap 95% interval of its
 * ECE, and how many rows it covers.
 */
public record RowDetail(String method, String level, boolean scaled, String subset, int n, double[] foldBss,
    double[] foldEce, double eceLow, double eceHigh) {

  public boolean is(ReportRow row) {
    return row.is(method, level, scaled, subset);
  }
}
