/* The HTML page of `infopro plan --html FILE`: one self-contained file (inline CSS and SVG, no
 * scripts, no fonts or images fetched from anywhere) with two charts and the module table.
 *
 * 1. Along the network (x: the nodes in network order), the bytes of activations a training step
 *    keeps for the backward pass (frontend/cost.h's saved bytes), accumulated from the input:
 *    end to end they pile up over the whole network; in the plan they start again from zero at
 *    each chosen cut, since no gradient crosses it. Every candidate cut point is a tick, the
 *    chosen cuts are vertical lines. These are the network's own activations only (no heads, no
 *    library workspaces): the shape of the problem, not the planner's figures.
 * 2. The planner's figures: for end-to-end training and for each module, the memory in use while
 *    it trains (input batch and labels, every module's persistent bytes, its own transient
 *    bytes), against the end-to-end peak and the budget. The highest module bar is the plan's
 *    peak. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define CHART_W 960.0
#define CHART_H 330.0
#define LEFT 78.0
#define RIGHT 16.0
#define TOP 40.0
#define BOTTOM 46.0

static void escaped(FILE *out, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '"': fputs("&quot;", out); break;
    case '\'': fputs("&#39;", out); break;
    default: fputc(*s, out);
    }
  }
}

static double mib(uint64_t bytes) { return (double)bytes / 1048576.0; }

/* A round tick step (1, 2 or 5 times a power of ten) giving about five ticks up to top. */
static double tick_step(double top) {
  double raw = top / 5.0, magnitude = pow(10.0, floor(log10(raw)));
  double n = raw / magnitude;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * magnitude;
}

/* The y axis in MiB from 0 to top (bytes), gridlines across the plot up to x = right; returns the
 * axis top in bytes. */
static double y_axis(FILE *out, double top_bytes, const char *title, double right) {
  double top = mib((uint64_t)top_bytes) * 1.08;
  if (top <= 0) top = 1;
  double step = tick_step(top);
  top = ceil(top / step) * step;
  double plot_h = CHART_H - TOP - BOTTOM;
  for (double v = 0; v <= top + step / 2; v += step) {
    double y = CHART_H - BOTTOM - v / top * plot_h;
    fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", LEFT, y,
            right, y);
    fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            LEFT - 6, y + 4, v);
  }
  fprintf(out,
          "<text class=\"axis\" transform=\"translate(16 %.1f) rotate(-90)\" "
          "text-anchor=\"middle\">%s</text>\n",
          TOP + plot_h / 2, title);
  return top * 1048576.0;
}

static double y_of(double bytes, double top) {
  return CHART_H - BOTTOM - bytes / top * (CHART_H - TOP - BOTTOM);
}

static void saved_chart(const ipro_plan *r, FILE *out) {
  const ipro_graph *g = r->network;
  const ipro_graph_cost *cost = r->cost;
  int n = g->n_nodes;
  double total = 0;
  for (int i = 0; i < n; i++)
    total += (double)cost->nodes[i].saved_bytes;
  fprintf(out,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
          "role=\"img\" aria-label=\"saved activations along the network\">\n",
          CHART_W, CHART_H);
  double top =
      y_axis(out, total > 0 ? total : 1, "MiB kept for the backward pass", CHART_W - RIGHT);
  double plot_w = CHART_W - LEFT - RIGHT;
#define X_OF(i) (LEFT + (double)(i) / (double)(n > 0 ? n : 1) * plot_w)

  /* A cut after node p is at the boundary p + 1. */
  bool *chosen = calloc((size_t)n + 1, sizeof *chosen);
  for (int k = 0; chosen && k + 1 < r->K; k++)
    chosen[g->tensors[r->modules[k].output_tensor].producer + 1] = true;

  /* End to end: the running total, as a filled step area. */
  fprintf(out, "<path class=\"e2e\" d=\"M%.2f %.2f", X_OF(0), y_of(0, top));
  double sum = 0;
  for (int i = 0; i < n; i++) {
    sum += (double)cost->nodes[i].saved_bytes;
    fprintf(out, " V%.2f H%.2f", y_of(sum, top), X_OF(i + 1));
  }
  fprintf(out, " V%.2f Z\"/>\n", y_of(0, top));
  /* The plan: the running total restarts at every chosen cut. */
  fprintf(out, "<path class=\"local\" d=\"M%.2f %.2f", X_OF(0), y_of(0, top));
  sum = 0;
  for (int i = 0; i < n; i++) {
    if (chosen && chosen[i]) {
      sum = 0;
      fprintf(out, " V%.2f", y_of(0, top));
    }
    sum += (double)cost->nodes[i].saved_bytes;
    fprintf(out, " V%.2f H%.2f", y_of(sum, top), X_OF(i + 1));
  }
  fprintf(out, "\"/>\n");

  /* Candidate cut points as ticks, with their names as tooltips. */
  for (int c = 0; c < cost->n_cut_points; c++) {
    const ipro_tensor *t = &g->tensors[cost->cut_points[c]];
    double x = X_OF(t->producer + 1);
    fprintf(out,
            "<line class=\"candidate\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\">"
            "<title>cut point ",
            x, CHART_H - BOTTOM, x, CHART_H - BOTTOM + 7);
    escaped(out, t->name);
    fprintf(out, "</title></line>\n");
  }
  /* Chosen cuts and module names. */
  double start = X_OF(0);
  for (int k = 0; k < r->K; k++) {
    const ipro_tensor *t = &g->tensors[r->modules[k].output_tensor];
    double end = k + 1 < r->K ? X_OF(t->producer + 1) : X_OF(n);
    fprintf(out,
            "<text class=\"module\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s%d</text>\n",
            (start + end) / 2, TOP - 8, r->K > 6 ? "" : "module ", k + 1);
    if (k + 1 < r->K) {
      fprintf(out,
              "<line class=\"cut\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\">"
              "<title>cut %d: ",
              end, TOP - 4, end, CHART_H - BOTTOM, k + 1);
      escaped(out, t->name);
      fprintf(out, "</title></line>\n");
    }
    start = end;
  }
#undef X_OF
  free(chosen);
  fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", LEFT,
          CHART_H - BOTTOM, CHART_W - RIGHT, CHART_H - BOTTOM);
  fprintf(out,
          "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">nodes in network "
          "order (%d); ticks: the %d cut points</text>\n",
          LEFT + plot_w / 2, CHART_H - 12, n, cost->n_cut_points);
  fprintf(out, "</svg>\n");
}

static void bar(FILE *out, double x, double width, double from, double to, double top,
                const char *class, const char *title, uint64_t bytes) {
  if (to <= from) return;
  char grouped[32];
  fprintf(out,
          "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
          "<title>%s: %s bytes</title></rect>\n",
          class, x, y_of(to, top), width, y_of(from, top) - y_of(to, top), title,
          ipro_plan_grouped(bytes, grouped, sizeof grouped));
}

/* A line across the plot (up to right) labelled in the margin beyond it, label_dy lower. */
static void horizontal(FILE *out, double bytes, double top, double right, double label_dy,
                       const char *class, const char *label) {
  double y = y_of(bytes, top);
  fprintf(out, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", class, LEFT,
          y, right, y);
  fprintf(out, "<text class=\"%s-label\" x=\"%.1f\" y=\"%.1f\">%s</text>", class, right + 6,
          y - 2 + label_dy, label);
  fprintf(out, "<text class=\"%s-label\" x=\"%.1f\" y=\"%.1f\">%.1f MiB</text>\n", class, right + 6,
          y + 10 + label_dy, mib((uint64_t)bytes));
}

static void module_chart(const ipro_plan *r, FILE *out) {
  double highest = (double)r->e2e.peak_bytes;
  if ((double)r->split.peak_bytes > highest) highest = (double)r->split.peak_bytes;
  if ((double)r->budget_bytes > highest) highest = (double)r->budget_bytes;
  fprintf(out,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
          "role=\"img\" aria-label=\"memory while each module trains\">\n",
          CHART_W, CHART_H);
  double right = CHART_W - 112; /* the lines' labels go in the margin */
  double top = y_axis(out, highest, "MiB in use", right);
  int bars = r->K + 1;
  double slot = (right - LEFT) / bars, width = slot * 0.55;
  if (width > 90) width = 90;
  for (int k = 0; k < bars; k++) {
    bool e2e = k == 0;
    const ipro_plan_module *m = e2e ? &r->e2e_module : &r->modules[k - 1];
    uint64_t others = e2e ? 0 : r->split.persistent_bytes - m->memory.persistent_bytes;
    double x = LEFT + slot * k + (slot - width) / 2, level = 0;
    bar(out, x, width, level, level + (double)r->fixed_bytes, top, "fixed",
        "input batch and labels", r->fixed_bytes);
    level += (double)r->fixed_bytes;
    bar(out, x, width, level, level + (double)others, top, "others",
        "persistent bytes of the other modules", others);
    level += (double)others;
    bar(out, x, width, level, level + (double)m->memory.persistent_bytes, top, "persistent",
        "its persistent bytes (parameters, gradients, optimizer state, heads)",
        m->memory.persistent_bytes);
    level += (double)m->memory.persistent_bytes;
    bar(out, x, width, level, level + (double)m->memory.transient_bytes, top, "transient",
        "its transient bytes (arena and handed-on activations)", m->memory.transient_bytes);
    level += (double)m->memory.transient_bytes;
    fprintf(out, "<text class=\"value\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>",
            x + width / 2, y_of(level, top) - 4, mib((uint64_t)level));
    if (e2e)
      fprintf(out,
              "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">end to "
              "end</text>\n",
              x + width / 2, CHART_H - BOTTOM + 16);
    else
      fprintf(out,
              "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s%d</text>\n",
              x + width / 2, CHART_H - BOTTOM + 16, r->K > 8 ? "" : "module ", k);
  }
  double e2e_y = y_of((double)r->e2e.peak_bytes, top);
  horizontal(out, (double)r->e2e.peak_bytes, top, right, 0, "e2e-peak", "end-to-end peak");
  if (r->budget_bytes) {
    /* Two labels closer than their height are moved apart, the budget's to the other side. */
    double budget_y = y_of((double)r->budget_bytes, top), dy = 0;
    if (fabs(budget_y - e2e_y) < 26)
      dy = budget_y >= e2e_y ? 26 - (budget_y - e2e_y) : -(26 - (e2e_y - budget_y));
    horizontal(out, (double)r->budget_bytes, top, right, dy, "budget", "budget");
  }
  fprintf(out, "<line class=\"frame\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", LEFT,
          CHART_H - BOTTOM, right, CHART_H - BOTTOM);
  fprintf(out, "</svg>\n");
}

static void legend(FILE *out, const char *class, const char *text) {
  fprintf(out,
          "<span class=\"key\"><svg width=\"14\" height=\"14\"><rect class=\"%s\" x=\"1\" "
          "y=\"1\" width=\"12\" height=\"12\"/></svg> %s</span>\n",
          class, text);
}

static void module_table(const ipro_plan *r, FILE *out) {
  const ipro_graph *g = r->network;
  static const char *const headings[] = {"module",     "first node", "last node", "parameters",
                                         "FLOPs/step", "arena",      "handoff",   "transient",
                                         "persistent", "head params"};
  fprintf(out, "<table>\n<tr>");
  for (size_t h = 0; h < sizeof headings / sizeof headings[0]; h++)
    fprintf(out, "<th>%s</th>", headings[h]);
  fprintf(out, "</tr>\n");
  for (int k = 0; k <= r->K; k++) {
    const ipro_plan_module *m = k < r->K ? &r->modules[k] : &r->e2e_module;
    char a[32], b[32], c[32], d[32], e[32], f[32], h[32];
    if (k < r->K)
      fprintf(out, "<tr><td>%d</td><td>", k + 1);
    else
      fprintf(out, "<tr class=\"e2e-row\"><td>end to end</td><td>");
    escaped(out, g->nodes[m->first_node].name);
    fprintf(out, "</td><td>");
    escaped(out, g->nodes[m->last_node].name);
    fprintf(out,
            "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
            "</tr>\n",
            ipro_plan_grouped((uint64_t)m->parameters, a, sizeof a),
            ipro_plan_grouped((uint64_t)m->flops, b, sizeof b),
            ipro_plan_grouped(m->memory.arena_bytes, c, sizeof c),
            ipro_plan_grouped(m->memory.input_bytes + m->memory.output_bytes, d, sizeof d),
            ipro_plan_grouped(m->memory.transient_bytes, e, sizeof e),
            ipro_plan_grouped(m->memory.persistent_bytes, f, sizeof f),
            ipro_plan_grouped((uint64_t)m->head_parameters, h, sizeof h));
  }
  fprintf(out, "</table>\n");
}

static const char style[] =
    "body{font-family:sans-serif;margin:24px auto;max-width:1000px;color:#222}"
    "h1{font-size:20px}h2{font-size:16px;margin-top:28px}p{line-height:1.4}"
    "svg text{font-family:sans-serif}.tick{font-size:11px;fill:#444}.axis{font-size:12px;"
    "fill:#222}.module{font-size:12px;fill:#333}.value{font-size:11px;fill:#222}"
    ".grid{stroke:#e4e4e4}.frame{stroke:#666}"
    ".e2e{fill:#d8d8d8;stroke:#999}.local{fill:none;stroke:#1f6fb4;stroke-width:2}"
    ".candidate{stroke:#555}.cut{stroke:#c62828;stroke-width:2;stroke-dasharray:6 3}"
    ".fixed{fill:#9e9e9e}.others{fill:#e8cfa0}.persistent{fill:#c8923a}.transient{fill:#1f6fb4}"
    ".e2e-peak{stroke:#222;stroke-dasharray:5 4}.e2e-peak-label{font-size:11px;fill:#222}"
    ".budget{stroke:#c62828;stroke-width:2}.budget-label{font-size:11px;fill:#c62828}"
    ".key{margin-right:16px;font-size:13px;white-space:nowrap}.key svg{vertical-align:-2px}"
    "table{border-collapse:collapse;font-size:12px;margin-top:8px}"
    "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}"
    "td:nth-child(2),td:nth-child(3),th:nth-child(2),th:nth-child(3){text-align:left}"
    ".e2e-row{color:#666}code{font-size:13px}";

void ipro_plan_html_write(const ipro_plan *r, FILE *out) {
  const ipro_graph *g = r->network;
  char a[32], b[32];
  fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<title>infopro plan: ");
  escaped(out, g->path);
  fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>infopro plan: ", style);
  escaped(out, g->path);
  fprintf(out,
          "</h1>\n<p>Batch %" PRId64 ", %d module%s (%d cut points to choose from), heads "
          "%s, %s loss, backend %s, optimizer %s.<br>\nCuts: ",
          g->batch, r->K, r->K == 1 ? "" : "s", r->cost->n_cut_points,
          r->settings.local.choose_heads ? "chosen per cut" : r->head_shape,
          r->settings.local.heads.aux_loss == IPRO_AUX_LOSS_CONTRAST ? "contrastive"
                                                                     : "cross-entropy",
          r->backend_name, r->optimizer_name);
  if (r->K == 1) fprintf(out, "none (end to end)");
  for (int k = 0; k + 1 < r->K; k++) {
    fprintf(out, "%s<code>", k ? ", " : "");
    escaped(out, g->tensors[r->modules[k].output_tensor].name);
    fprintf(out, "</code>");
  }
  char change[96];
  ipro_plan_peak_change(r->split.peak_bytes, r->e2e.peak_bytes, change, sizeof change);
  fprintf(out,
          ".<br>\nPeak <b>%s bytes (%.1f MiB)</b> planned; end to end %s bytes (%.1f MiB); "
          "<b>%s</b>.",
          ipro_plan_grouped(r->split.peak_bytes, a, sizeof a), mib(r->split.peak_bytes),
          ipro_plan_grouped(r->e2e.peak_bytes, b, sizeof b), mib(r->e2e.peak_bytes), change);
  if (r->budget_bytes)
    fprintf(out, " Budget %s bytes (%.1f MiB): %s.",
            ipro_plan_grouped(r->budget_bytes, a, sizeof a), mib(r->budget_bytes),
            r->split.peak_bytes <= r->budget_bytes ? "fits" : "<b>does not fit</b>");
  if (r->bound.K)
    fprintf(out,
            " With heads of zero cost the same K would peak at %s bytes (%.1f MiB): the heads "
            "keep %.1f%% of that saving.",
            ipro_plan_grouped(r->bound.peak_bytes, a, sizeof a), mib(r->bound.peak_bytes),
            100.0 * ipro_plan_bound_kept(r));
  for (int k = 0; k + 1 < r->K; k++) {
    char reason[256];
    fprintf(out, "<br>\nHeads at cut %d: %dc%df, %s decoder: ", k + 1, r->heads[k].convs,
            r->heads[k].fcs, ipro_decoder_name(r->heads[k].decoder));
    escaped(out, ipro_plan_head_reason(r, k, reason, sizeof reason));
    fprintf(out, ".");
  }
  fprintf(out, "</p>\n");

  fprintf(out, "<h2>Activations kept for the backward pass, along the network</h2>\n");
  saved_chart(r, out);
  fprintf(out, "<p>");
  legend(out, "e2e", "end to end: accumulated from the input");
  fprintf(out,
          "<span class=\"key\"><svg width=\"22\" height=\"14\"><line class=\"local\" x1=\"1\" "
          "y1=\"7\" x2=\"21\" y2=\"7\"/></svg> this plan: accumulated within each module"
          "</span>\n<span class=\"key\"><svg width=\"22\" height=\"14\"><line class=\"cut\" "
          "x1=\"11\" y1=\"0\" x2=\"11\" y2=\"14\"/></svg> chosen cut</span><br>\n"
          "The network's own activations at batch %" PRId64
          " (frontend cost facts), without heads or library workspaces.</p>\n",
          g->batch);

  fprintf(out, "<h2>Memory in use while each module trains (planner figures)</h2>\n");
  module_chart(r, out);
  fprintf(out, "<p>");
  legend(out, "fixed", "input batch and labels");
  legend(out, "others", "other modules' persistent bytes");
  legend(out, "persistent",
         "its persistent bytes (parameters, gradients, optimizer state, "
         "heads)");
  legend(out, "transient", "its transient bytes (arena + activations received and handed on)");
  fprintf(out,
          "<br>The highest module bar is the plan's peak; the dashed line is the end-to-end "
          "peak%s.</p>\n",
          r->budget_bytes ? ", the red line the budget" : "");

  fprintf(out, "<h2>Modules</h2>\n");
  module_table(r, out);
  fprintf(out, "<p>Bytes; FLOPs per training step (forward, heads, losses, backward, update); "
               "head params: parameters of the InfoPro heads.</p>\n</body>\n</html>\n");
}
