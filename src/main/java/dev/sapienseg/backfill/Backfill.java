package dev.sapienseg.backfill;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.S3Object;

import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.util.DaemonThreads;

/**
 * The backfill itself: lists a bucket prefix with the AWS SDK's paginator and, for each picture whose results are not
 * complete, sends the S3 event notification S3 itself would have sent for its upload, as a binary-mode CloudEvent
 * written by the CloudEvents SDK. Everything after the send is Knative's (the Broker's retries, the autoscaler
 * spreading the work over pods) and the function's (which reuses results that are still valid). Bounded: at most
 * {@code rate} notifications per second, at most {@code concurrency} checks and sends at once, and the lister never
 * runs more than twice that ahead.
 */
public final class Backfill {

    /**
     * @param outputBucket where the function writes results ({@code sapiens.storage.output-bucket}); null: the source
     *        bucket
     * @param outputPrefix the function's {@code sapiens.storage.output-prefix}
     */
    public record Settings(String bucket, String prefix, URI sink, double rate, int concurrency, Path state,
            boolean force, boolean dryRun, long limit, int attempts, Duration maxRetryAfter, String eventType,
            String outputBucket, String outputPrefix) {
    }

    /** The run cannot start (the bucket does not exist, the state file cannot be read). */
    public static final class CannotRun extends RuntimeException {
        CannotRun(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** What happened to the listed objects. */
    public static final class Counts {
        final AtomicLong listed = new AtomicLong();
        final AtomicLong sent = new AtomicLong();
        final AtomicLong wouldSend = new AtomicLong();
        final AtomicLong complete = new AtomicLong();
        final AtomicLong inState = new AtomicLong();
        final AtomicLong notPictures = new AtomicLong();
        final AtomicLong ownOutputs = new AtomicLong();
        final AtomicLong ignored = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        private final List<String> failures = new ArrayList<>();
        private final long start = System.nanoTime();

        public long listed() {
            return listed.get();
        }

        public long sent() {
            return sent.get();
        }

        public long skipped() {
            return complete.get() + inState.get() + notPictures.get() + ownOutputs.get() + ignored.get();
        }

        public long complete() {
            return complete.get();
        }

        public long failed() {
            return failed.get();
        }

        public long wouldSend() {
            return wouldSend.get();
        }

        public synchronized List<String> failures() {
            return List.copyOf(failures);
        }

        synchronized void fail(String key, String why) {
            failed.incrementAndGet();
            if (failures.size() < 100) {
                failures.add(key + ": " + why);
            }
        }

        double seconds() {
            return (System.nanoTime() - start) / 1e9;
        }

        /** The final line: sent / skipped (and why) / failed. */
        public String summary() {
            double seconds = seconds();
            return String.format(java.util.Locale.ROOT, "listed %d objects: %s %d, skipped %d (results complete %d, in the"
                    + " state file %d, not pictures %d, our own outputs %d, ignored by the sink %d), failed %d in %.1f s"
                    + " (%.1f notifications/s)", listed(), wouldSend() > 0 ? "would send" : "sent",
                    wouldSend() > 0 ? wouldSend() : sent(), skipped(), complete.get(), inState.get(), notPictures.get(),
                    ownOutputs.get(), ignored.get(), failed(), seconds, seconds > 0 ? sent() / seconds : 0);
        }

        /** Counts a listed object that gets no notification, under its reason. */
        void skip(KeyFilter.Skip why) {
            AtomicLong counter = switch (why) {
                case NOT_PICTURE -> notPictures;
                case OWN_OUTPUT -> ownOutputs;
                case IN_STATE -> inState;
            };
            counter.incrementAndGet();
        }
    }

    private final S3Client s3;
    private final Settings settings;
    private final BackfillProgress progress;
    private final Counts counts = new Counts();
    private final ResultCheck results;
    private final NotificationSender sender;

    public Backfill(S3Client s3, Settings settings, BackfillProgress progress) {
        this.s3 = s3;
        this.settings = settings;
        this.progress = progress;
        this.results = new ResultCheck(s3, settings);
        this.sender = new NotificationSender(settings, new RateLimiter(settings.rate()));
    }

    public Counts run() {
        StateFile state = StateFile.open(settings.state());
        try {
            s3.headBucket(b -> b.bucket(settings.bucket()));
        } catch (NoSuchBucketException e) {
            throw new CannotRun("no such bucket: " + settings.bucket(), e);
        } catch (SdkException e) {
            throw new CannotRun("cannot reach bucket " + settings.bucket() + ": " + e.getMessage(), e);
        }
        KeyFilter filter = new KeyFilter(settings, state);
        ExecutorService pool = Executors.newFixedThreadPool(settings.concurrency(), DaemonThreads.numbered("backfill"));
        // The lister waits while this many pictures are queued or in flight: memory stays flat on any bucket size.
        Semaphore ahead = new Semaphore(settings.concurrency() * 2);
        long scheduled = 0;
        try {
            for (S3Object object : s3.listObjectsV2Paginator(b -> b.bucket(settings.bucket()).prefix(settings.prefix()))
                    .contents()) {
                counts.listed.incrementAndGet();
                Optional<KeyFilter.Skip> skip = filter.reasonToSkip(object.key());
                if (skip.isPresent()) {
                    counts.skip(skip.get());
                    progress.report(counts, false);
                    continue;
                }
                if (settings.limit() > 0 && scheduled >= settings.limit()) {
                    counts.listed.decrementAndGet(); // not looked at
                    break;
                }
                scheduled++;
                ahead.acquireUninterruptibly();
                pool.execute(() -> {
                    try {
                        process(object, state);
                    } catch (RuntimeException e) {
                        counts.fail(object.key(), String.valueOf(e.getMessage()));
                    } finally {
                        ahead.release();
                        progress.report(counts, false);
                    }
                });
            }
        } catch (SdkException e) {
            counts.fail("(listing)", "listing " + settings.bucket() + "/" + settings.prefix() + " failed: " + e.getMessage());
        } finally {
            pool.shutdown();
            try {
                while (!pool.awaitTermination(1, TimeUnit.MINUTES)) {
                    progress.report(counts, true);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                pool.shutdownNow();
            }
            state.close();
        }
        progress.report(counts, true);
        progress.done();
        return counts;
    }

    /** One candidate picture: recorded when its results are complete (unless --force), else sent (a dry run counts it). */
    private void process(S3Object object, StateFile state) {
        String key = object.key();
        String eTag = unquote(object.eTag());
        if (!settings.force()) {
            boolean complete;
            try {
                complete = results.complete(key, eTag);
            } catch (SegmentationException e) {
                counts.fail(key, e.getMessage()); // the function would refuse it (400 unsafe-key): nothing to send
                return;
            }
            if (complete) {
                counts.complete.incrementAndGet();
                state.record(key);
                return;
            }
        }
        if (settings.dryRun()) {
            counts.wouldSend.incrementAndGet();
            return;
        }
        NotificationSender.Delivery delivery = sender.send(object, eTag);
        switch (delivery.outcome()) {
            case SENT -> {
                counts.sent.incrementAndGet();
                state.record(key);
            }
            case IGNORED -> {
                counts.ignored.incrementAndGet();
                state.record(key);
            }
            case FAILED -> counts.fail(key, delivery.failure());
        }
    }

    /** S3 lists ETags in quotes; S3's notifications and the function's result metadata carry them bare. */
    private static String unquote(String eTag) {
        return eTag == null ? null : eTag.replace("\"", "");
    }
}
