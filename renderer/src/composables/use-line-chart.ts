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
}

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

/** Returns whether a chart could be drawn (no 2D canvas context, as in a DOM without canvas, draws none). */
export function useLineChart(
  canvas: Ref<HTMLCanvasElement | null>,
  points: Ref<readonly ChartPoint[]>,
  options: LineChartOptions,
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
          fill: true,
          pointRadius: 0,
          borderWidth: 1.5,
          tension: 0.2,
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
        x: { type: 'linear', title: { display: true, text: options.xTitle }, ticks: { maxTicksLimit: 6 } },
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

  watch(points, (next) => {
    if (chart === null) return;
    chart.data.datasets[0]!.data = [...next];
    chart.update('none');
  });

  onScopeDispose(() => {
    chart?.destroy();
    chart = null;
  });

  return { drawn: readonly(drawn) };
}
