/** The current time, refreshed every `intervalMs`: what a spinner or an elapsed time redraws by. */
import { useEffect, useState } from "react";

export function useNow(now: () => Date, intervalMs: number): Date {
  const [time, setTime] = useState(now);
  useEffect(() => {
    const timer = setInterval(() => setTime(now()), intervalMs);
    return () => clearInterval(timer);
  }, [now, intervalMs]);
  return time;
}
