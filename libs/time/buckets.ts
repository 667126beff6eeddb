/**
 * Calendar buckets of UTC time: the day, the ISO week (from Monday), the
 * month and the year an instant falls in, as [begin, end) in epoch seconds.
 */
const DAY = 86400;

export type CalendarBucket = "day" | "week" | "month" | "year";

/** The bucket [begin, end) (epoch seconds) containing the instant t (epoch seconds). */
export function calendarBucket(t: number, bucket: CalendarBucket): [number, number] {
  const day = Math.floor(t / DAY) * DAY;
  switch (bucket) {
    case "day":
      return [day, day + DAY];
    case "week": {
      // 1970-01-01 was a Thursday: three days after a Monday.
      const sinceMonday = (((Math.floor(day / DAY) + 3) % 7) + 7) % 7;
      const w = day - sinceMonday * DAY;
      return [w, w + 7 * DAY];
    }
    case "month": {
      const d = new Date(day * 1000);
      return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000];
    }
    case "year": {
      const d = new Date(day * 1000);
      return [Date.UTC(d.getUTCFullYear(), 0, 1) / 1000, Date.UTC(d.getUTCFullYear() + 1, 0, 1) / 1000];
    }
  }
}
