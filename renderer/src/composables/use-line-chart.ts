/**
 * A chart.js line chart on a canvas, updated from a reactive list of points and destroyed with the
 * calling scope. Only the chart.js parts a line chart needs are registered (the rest is tree-shaken).
 */
import {
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { onMounted, onScopeDispose, readonly, ref, watch, type Ref } from 'vue';

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Tooltip);

export interface LineChartOptions {
  readonly label: string;
  readonly colour: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** Separate events (one submit's latency): points, never joined by a line. @default false */
  readonly pointsOnly?: boolean;
}

/** Fewer samples than this are drawn as points: a line through three samples suggests a trend. */
export const SPARSE_POINTS = 12;

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

/** Points (no joining line) when samples are few or the series is of separate events; a line otherwise. */
export function styleFor(
  count: number,
  pointsOnly: boolean,
): { showLine: boolean; fill: boolean; pointRadius: number } {
  const sparse = pointsOnly || count < SPARSE_POINTS;
  return { showLine: !sparse, fill: !sparse, pointRadius: sparse ? 3 : 0 };
}

/** Returns whether a chart could be drawn (no 2D canvas context, as in a DOM without canvas, draws none). */
export function useLineChart(
  canvas: Ref<HTMLCanvasElement | null>,
  points: Ref<readonly ChartPoint[]>,
  options: LineChartOptions,
  /** The x range, shared by the charts that show one time axis. @default fitted to the points */
  xRange?: Ref<{ readonly min: number; readonly max: number } | null>,
): { readonly drawn: Readonly<Ref<boolean>> } {
  let chart: Chart<'line', ChartPoint[]> | null = null;
  const drawn = ref(false);

  const config = (): ChartConfiguration<'line', ChartPoint[]> => ({
    type: 'line',
    data: {
      datasets: [
        {
          label: options.label,
          data: [...points.value],
          borderColor: options.colour,
          backgroundColor: `${options.colour}22`,
          ...styleFor(points.value.length, options.pointsOnly ?? false),
          borderWidth: 1.5,
          tension: 0,
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: options.xTitle },
          ticks: { maxTicksLimit: 6 },
          ...(xRange?.value ?? {}),
        },
        y: { type: 'linear', beginAtZero: true, title: { display: true, text: options.yTitle } },
      },
      plugins: { tooltip: { intersect: false, mode: 'index' } },
    },
  });

  onMounted(() => {
    const element = canvas.value;
    if (element === null || element.getContext('2d') === null) return;
    chart = new Chart(element, config());
    drawn.value = true;
  });

  watch([points, () => xRange?.value], ([next, range]) => {
    if (chart === null) return;
    Object.assign(chart.data.datasets[0]!, styleFor(next.length, options.pointsOnly ?? false));
    chart.data.datasets[0]!.data = [...next];
    const x = chart.options.scales!.x!;
    x.min = range?.min;
    x.max = range?.max;
    chart.update('none');
  });

  onScopeDispose(() => {
    chart?.destroy();
    chart = null;
  });

  return { drawn: readonly(drawn) };
}
