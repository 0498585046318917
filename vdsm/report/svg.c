/* vdsm/report/svg.c: inline SVG line charts. */
#include "vdsm/report/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const palette[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                                      "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define NPALETTE (int)(sizeof palette / sizeof palette[0])

bool vdsm_svg_range(const struct vdsm_svg_series *s, int ns, double *x0, double *x1, double *y0, double *y1)
{
    bool any = false;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            if (!any) *x0 = *x1 = x, *y0 = *y1 = y, any = true;
            *x0 = fmin(*x0, x), *x1 = fmax(*x1, x), *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
        }
    return any;
}

void vdsm_svg_path(struct vdsm_buf *b, const double *x, const double *y, int n, const struct vdsm_svg_box *box)
{
    double sx = (box->px1 - box->px0) / (box->x1 - box->x0), sy = (box->py1 - box->py0) / (box->y1 - box->y0);
    bool pen = false, first = true;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) {
            pen = false;
            continue;
        }
        double px = box->px0 + (x[i] - box->x0) * sx, py = box->py1 - (y[i] - box->y0) * sy;
        vdsm_buf_printf(b, "%s%c%.1f %.1f", first ? "" : " ", pen ? 'L' : 'M', px, py);
        pen = true;
        first = false;
    }
}

/* Tick label text: compact, and the same digits for the same value. */
static void num(char *out, size_t n, double v)
{
    if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3)) snprintf(out, n, "%.3g", v);
    else snprintf(out, n, "%.4g", v);
}

void vdsm_svg_chart(struct vdsm_buf *b, const struct vdsm_svg_chart *c, const struct vdsm_svg_series *s, int ns)
{
    int w = c->width > 0 ? c->width : 360, h = c->height > 0 ? c->height : 220;
    bool legend = ns > 1;
    struct vdsm_svg_box box = {.px0 = 64, .py0 = 24, .px1 = w - 10, .py1 = h - 26 - (legend ? 14 * ((ns + 2) / 3) : 0)};
    vdsm_buf_printf(b, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                       "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n", w, h, w, h);
    vdsm_buf_puts(b, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text x=\"6\" y=\"15\" font-weight=\"bold\">");
    vdsm_buf_html(b, c->title ? c->title : "");
    vdsm_buf_puts(b, "</text>\n");
    if (!vdsm_svg_range(s, ns, &box.x0, &box.x1, &box.y0, &box.y1)) {
        vdsm_buf_printf(b, "<text x=\"%d\" y=\"%d\" fill=\"#888\">no finite values</text>\n</svg>\n", w / 3, h / 2);
        return;
    }
    if (box.x1 - box.x0 < 1e-12) box.x0 -= 0.5, box.x1 += 0.5;
    if (box.y1 - box.y0 < 1e-12 * fmax(1, fabs(box.y0))) {
        double d = box.y0 != 0 ? fabs(box.y0) * 0.05 : 0.5; /* a flat line in the middle, labels near its value */
        box.y0 -= d, box.y1 += d;
    } else {
        double pad = 0.04 * (box.y1 - box.y0);
        box.y0 -= pad, box.y1 += pad;
    }
    char t[32];
    vdsm_buf_printf(b, "<path d=\"M%.1f %.1f H%.1f V%.1f\" fill=\"none\" stroke=\"#ddd\"/>\n", box.px0, box.py0,
                    box.px1, box.py1);
    vdsm_buf_printf(b, "<path d=\"M%.1f %.1f V%.1f H%.1f\" fill=\"none\" stroke=\"#000\"/>\n", box.px0, box.py0,
                    box.py1, box.px1);
    num(t, sizeof t, box.y1);
    vdsm_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", box.px0 - 4, box.py0 + 4, t);
    num(t, sizeof t, box.y0);
    vdsm_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", box.px0 - 4, box.py1, t);
    num(t, sizeof t, box.x0);
    vdsm_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", box.px0, box.py1 + 13, t);
    num(t, sizeof t, box.x1);
    vdsm_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", box.px1, box.py1 + 13, t);
    if (c->xlabel) {
        vdsm_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\">",
                        (box.px0 + box.px1) / 2, box.py1 + 13);
        vdsm_buf_html(b, c->xlabel);
        vdsm_buf_puts(b, "</text>\n");
    }
    for (int k = 0; k < ns; k++) {
        const char *col = s[k].colour ? s[k].colour : palette[k % NPALETTE];
        vdsm_buf_puts(b, "<path d=\"");
        vdsm_svg_path(b, s[k].x, s[k].y, s[k].n, &box);
        vdsm_buf_printf(b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s>", col,
                        s[k].dashed ? " stroke-dasharray=\"4 3\"" : "");
        if (s[k].name) {
            vdsm_buf_puts(b, "<title>");
            vdsm_buf_html(b, s[k].name);
            vdsm_buf_puts(b, "</title>");
        }
        vdsm_buf_puts(b, "</path>\n");
        if (s[k].n == 1 && isfinite(s[k].x[0]) && isfinite(s[k].y[0])) /* a lone point draws no line */
            vdsm_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                            box.px0 + (s[k].x[0] - box.x0) * (box.px1 - box.px0) / (box.x1 - box.x0),
                            box.py1 - (s[k].y[0] - box.y0) * (box.py1 - box.py0) / (box.y1 - box.y0), col);
        if (legend) {
            double lx = 10 + (k % 3) * (w - 20) / 3.0, ly = h - 8 - 14 * ((ns + 2) / 3 - 1 - k / 3);
            vdsm_buf_printf(b, "<path d=\"M%.1f %.1f h16\" stroke=\"%s\" stroke-width=\"2\"%s/>", lx, ly - 4, col,
                            s[k].dashed ? " stroke-dasharray=\"4 3\"" : "");
            vdsm_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", lx + 20, ly);
            vdsm_buf_html(b, s[k].name ? s[k].name : "");
            vdsm_buf_puts(b, "</text>\n");
        }
    }
    vdsm_buf_puts(b, "</svg>\n");
}
