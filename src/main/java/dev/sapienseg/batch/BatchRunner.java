package dev.sapienseg.batch;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import dev.sapienseg.classes.Selection;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.pipeline.InferenceBatcher;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.pipeline.Postprocessor;
import dev.sapienseg.pipeline.SegmentationCore;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.pipeline.StageTimings;

/**
 * Segments many pictures as a pipeline, not a loop: a decode pool reads, decodes and preprocesses straight into the
 * next batch's model input ({@link InferenceBatcher}, which runs full batches on every session), and a post pool
 * turns each finished picture into files while the next batch runs. The same decoder ({@link ImageDecoder}) and the
 * same segmentation sequence ({@link SegmentationCore}) as the function's request path.
 *
 * <p>Memory is bounded by the batcher's pool ({@code sessions + 2} batches of {@code batchSize × (9.4 MB input + 22 MB
 * logits)} at 1024×768); decoders wait for a free slot. Every picture ends as segmented, skipped (outputs complete)
 * or failed with a reason.
 */
public final class BatchRunner {

    /** @param threads decode and post-processing threads each */
    public record Settings(int batchSize, int threads, boolean force, Normalization normalization) {
    }

    private static final long NO_DEADLINE = Duration.ofDays(365).toNanos();

    private final List<SegmentationModel> sessions;
    private final Settings settings;
    private final ImageDecoder decoder;
    private final BatchOutputs outputs;
    private final ModelContract contract;

    public BatchRunner(List<SegmentationModel> sessions, Settings settings, ImageDecoder decoder, BatchOutputs outputs) {
        this.sessions = sessions;
        this.settings = settings;
        this.decoder = decoder;
        this.outputs = outputs;
        this.contract = sessions.get(0).contract();
    }

    /** Images per model run (the batch size, or a model's fixed batch). */
    public int batchCapacity() {
        return contract.batchFor(settings.batchSize());
    }

    public void run(List<InputImage> images, Progress progress) throws InterruptedException {
        // No delay: a batch runs when it is full, or when the last picture has been decoded (flush).
        try (SegmentationCore core = new SegmentationCore(sessions, settings.normalization(),
                new InferenceBatcher.Settings(settings.batchSize(), null))) {
            ExecutorService decoders = Executors.newFixedThreadPool(settings.threads(), named("sapiens-decode"));
            ExecutorService posts = Executors.newFixedThreadPool(settings.threads(), named("sapiens-post"));
            CountDownLatch finished = new CountDownLatch(images.size());
            Selection selection = outputs.selection(core.vocabulary()); // resolved once: the same for every picture
            AtomicInteger toDecode = new AtomicInteger(images.size());
            for (InputImage image : images) {
                decoders.execute(() -> {
                    try {
                        prepare(image, core, selection, posts, progress, finished);
                    } finally {
                        if (toDecode.decrementAndGet() == 0) {
                            core.flush();
                        }
                    }
                });
            }
            finished.await();
            decoders.shutdown();
            posts.shutdown();
        }
    }

    /**
     * Decode stage: skip complete outputs, decode, submit to the core (preprocessed straight into a batch's input),
     * hand the rest to the post pool. Every path ends the picture exactly once: segmented, skipped or failed.
     */
    private void prepare(InputImage image, SegmentationCore core, Selection selection, ExecutorService posts,
            Progress progress, CountDownLatch finished) {
        if (!settings.force() && outputs.complete(image)) {
            progress.skipped();
            finished.countDown();
            return;
        }
        long t0 = System.nanoTime();
        DecodedImage decoded = null;
        SegmentationCore.Submitted submitted;
        long decodeNanos;
        try {
            decoded = decoder.decode(Files.readAllBytes(image.source()));
            decodeNanos = System.nanoTime() - t0;
            submitted = core.submit(decoded, System.nanoTime() + NO_DEADLINE);
        } catch (SegmentationException e) {
            fail(image, decoded, e.reason().code() + ": " + e.getMessage(), progress, finished);
            return;
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            fail(image, decoded, (decoded == null ? "unreadable: " : "preprocessing failed: ") + e, progress, finished);
            return;
        }
        DecodedImage picture = decoded;
        submitted.inference().whenCompleteAsync((done, failure) -> {
            try {
                if (failure != null) {
                    submitted.giveUp();
                    progress.failed(image.label(), String.valueOf(failure.getMessage()));
                } else {
                    finish(image, picture, submitted, core.vocabulary(), selection, decodeNanos, progress);
                }
            } finally {
                picture.close();
                finished.countDown();
            }
        }, posts);
    }

    private static void fail(InputImage image, DecodedImage decoded, String reason, Progress progress,
            CountDownLatch finished) {
        if (decoded != null) {
            decoded.close();
        }
        progress.failed(image.label(), reason);
        finished.countDown();
    }

    /** Post-processing stage: class map, statistics, files. */
    private void finish(InputImage image, DecodedImage decoded, SegmentationCore.Submitted submitted,
            dev.sapienseg.classes.Vocabulary vocabulary, Selection selection, long decodeNanos, Progress progress) {
        try {
            long t0 = System.nanoTime();
            Postprocessor.ClassMap map = submitted.classMap();
            double post = ms(System.nanoTime() - t0);
            outputs.write(image, decoded, map.ids(), vocabulary, selection, encodeMillis -> {
                long before = decodeNanos + submitted.preprocessNanos() + submitted.queueNanos() + submitted.inferenceNanos();
                StageTimings timings = new StageTimings(ms(decodeNanos), ms(submitted.preprocessNanos()),
                        ms(submitted.queueNanos()), ms(submitted.inferenceNanos()), post, encodeMillis,
                        ms(before) + post + encodeMillis);
                Segmentation segmentation = new Segmentation(decoded.width(), decoded.height(), decoded.format(),
                        vocabulary.names(), map.ids(), map.statistics(),
                        timings, Map.of(), submitted.batchSize(), selection);
                return SegmentationReport.summary(image.label(), segmentation, sessions.get(0), settings.normalization());
            });
            progress.segmented();
        } catch (IOException | RuntimeException e) {
            progress.failed(image.label(), "writing outputs failed: " + e);
        }
    }

    private static double ms(long nanos) {
        return SegmentationCore.ms(nanos);
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
