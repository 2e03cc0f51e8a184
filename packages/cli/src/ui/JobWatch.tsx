/**
 * The live view of `axon get <batch-api> <job-id> --watch`: the job's status, a progress bar of
 * its batches (succeeded, failed, left), counts, rate and ETA, its workers and its first failures.
 * Props in, view out: the command polls and redraws it (./live-job.tsx).
 */
import type { BatchJobResponse } from "@axon/control-plane/api";
import { Box, Text } from "ink";
import type { ReactNode } from "react";
import { isJobInProgress } from "../services/jobs.js";
import {
  formatDuration,
  formatEta,
  formatPercentDone,
  formatRate,
  jobElapsedSeconds,
  jobStatusWords,
  renderProgressBar,
} from "./jobs.js";
import { Tint } from "./Tint.js";

/** Failed batches shown under the bar (the job view, `get` without `--watch`, lists up to 20). */
const SHOWN_FAILURES = 3;

/** The bar's width: the terminal's, less the room for the percentage, within bounds. */
function barWidth(columns: number): number {
  return Math.max(10, Math.min(60, columns - 12));
}

function statusColor(look: BatchJobResponse): "green" | "yellow" | "red" | "cyan" {
  const { status } = look.job_status;
  if (status === "status_succeeded") return "green";
  if (isJobInProgress(status)) return "cyan";
  return status === "status_completed_with_failures" || status === "status_stopped"
    ? "yellow"
    : "red";
}

export function JobWatch(props: { look: BatchJobResponse; now: Date; width: number }): ReactNode {
  const job = props.look.job_status;
  const bar = renderProgressBar(job, barWidth(props.width));
  // The bar in three colours: succeeded cells green, failed cells red, the rest dim.
  const ok = bar.replace(/[▒░]/g, "").length;
  const bad = bar.replace(/[█░]/g, "").length;
  const running = isJobInProgress(job.status);
  const failures = job.failures ?? [];
  return (
    <Box flexDirection="column">
      <Text>
        <Tint bold>job {job.job_id}</Tint> of {job.api_name}:{" "}
        <Tint color={statusColor(props.look)} bold>
          {jobStatusWords(job.status)}
        </Tint>
        {job.status_message === undefined ? "" : ` (${job.status_message})`}
      </Text>
      <Text>
        <Tint color="green">{bar.slice(0, ok)}</Tint>
        <Tint color="red">{bar.slice(ok, ok + bad)}</Tint>
        <Tint dim>{bar.slice(ok + bad)}</Tint> {formatPercentDone(job)}
      </Text>
      <Text>
        {job.batch_metrics.succeeded}
        {job.total_batch_count === undefined ? "" : `/${job.total_batch_count}`} batches succeeded ·{" "}
        {job.batch_metrics.failed} failed · {job.batches_in_progress ?? 0} in progress ·{" "}
        {job.batches_in_queue} queued
        {job.batches_retried === undefined || job.batches_retried === 0
          ? ""
          : ` · ${job.batches_retried} retried`}
      </Text>
      <Text>
        {running
          ? `${formatRate(job.items_per_second)} · eta ${formatEta(job)} · ${formatDuration(jobElapsedSeconds(job, props.now))} elapsed · ${job.worker_counts.running}/${job.workers} workers running`
          : `took ${formatDuration(jobElapsedSeconds(job, props.now))}`}
      </Text>
      {failures.slice(0, SHOWN_FAILURES).map((failure) => (
        <Text key={failure.batch_id}>
          <Tint color="red">batch {failure.batch_id}</Tint> failed after {failure.attempts}{" "}
          {failure.attempts === 1 ? "attempt" : "attempts"}:{" "}
          {failure.error.trim().split("\n").at(-1) ?? ""}
        </Text>
      ))}
      <Tint dim>
        {running
          ? "Ctrl-C stops watching (the job keeps running)"
          : `axon get ${job.api_name} ${job.job_id} shows every failed batch; axon logs ${job.api_name} ${job.job_id} its workers' lines`}
      </Tint>
    </Box>
  );
}
