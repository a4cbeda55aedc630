package dev.sapienseg.batch;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.SegmentationReport;
import dev.sapienseg.pipeline.InferenceBatcher;
import dev.sapienseg.pipeline.Normalization;
import dev.sapienseg.pipeline.Postprocessor;
import dev.sapienseg.pipeline.Preprocessor;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationException;
import dev.sapienseg.pipeline.StageTimings;

/**
 * Segments many pictures as a pipeline, not a loop: a decode pool reads, decodes and preprocesses straight into the
 * next batch's model input ({@link InferenceBatcher}, which runs full batches on every session), and a post pool
 * turns each finished picture into files while the next batch runs. The same units as the function's request path:
 * {@link ImageDecoder}, {@link Preprocessor}, {@link InferenceBatcher}, {@link Postprocessor}.
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
    private final Preprocessor preprocessor;
    private final Postprocessor postprocessor;
    private final ModelContract contract;

    public BatchRunner(List<SegmentationModel> sessions, Settings settings, ImageDecoder decoder, BatchOutputs outputs) {
        this.sessions = sessions;
        this.settings = settings;
        this.decoder = decoder;
        this.outputs = outputs;
        this.contract = sessions.get(0).contract();
        this.preprocessor = new Preprocessor(contract.inputHeight(), contract.inputWidth(), settings.normalization());
        this.postprocessor = new Postprocessor(contract);
    }

    /** Images per model run (the batch size, or a model's fixed batch). */
    public int batchCapacity() {
        return contract.fixedBatch() > 0 ? contract.fixedBatch() : settings.batchSize();
    }

    public void run(List<InputImage> images, Progress progress) throws InterruptedException {
        // No delay: a batch runs when it is full, or when the last picture has been decoded (flush).
        try (InferenceBatcher batcher = new InferenceBatcher(sessions, new InferenceBatcher.Settings(settings.batchSize(), null))) {
            ExecutorService decoders = Executors.newFixedThreadPool(settings.threads(), named("sapiens-decode"));
            ExecutorService posts = Executors.newFixedThreadPool(settings.threads(), named("sapiens-post"));
            CountDownLatch finished = new CountDownLatch(images.size());
            AtomicInteger toDecode = new AtomicInteger(images.size());
            for (InputImage image : images) {
                decoders.execute(() -> {
                    try {
                        prepare(image, batcher, posts, progress, finished);
                    } finally {
                        if (toDecode.decrementAndGet() == 0) {
                            batcher.flush();
                        }
                    }
                });
            }
            finished.await();
            decoders.shutdown();
            posts.shutdown();
        }
    }

    /** Decode stage: skip complete outputs, decode, take a batch slot, preprocess straight into the model input. */
    private void prepare(InputImage image, InferenceBatcher batcher, ExecutorService posts, Progress progress,
            CountDownLatch finished) {
        if (!settings.force() && outputs.complete(image)) {
            progress.skipped();
            finished.countDown();
            return;
        }
        long t0 = System.nanoTime();
        DecodedImage decoded;
        try {
            decoded = decoder.decode(Files.readAllBytes(image.source()));
        } catch (SegmentationException e) {
            progress.failed(image.label(), e.reason().code() + ": " + e.getMessage());
            finished.countDown();
            return;
        } catch (IOException | RuntimeException e) {
            progress.failed(image.label(), "unreadable: " + e);
            finished.countDown();
            return;
        }
        long t1 = System.nanoTime();
        InferenceBatcher.Slot slot = batcher.claim(System.nanoTime() + NO_DEADLINE);
        try {
            preprocessor.write(decoded, slot.input(), slot.index() * contract.inputFloatsPerImage());
        } catch (RuntimeException e) {
            batcher.abandon(slot);
            decoded.close();
            progress.failed(image.label(), "preprocessing failed: " + e);
            finished.countDown();
            return;
        }
        batcher.ready(slot);
        long t2 = System.nanoTime();
        slot.result().whenCompleteAsync((done, failure) -> {
            try {
                if (failure != null) {
                    progress.failed(image.label(), String.valueOf(failure.getMessage()));
                } else {
                    finish(image, decoded, slot, t1 - t0, t2 - t1, progress);
                }
            } finally {
                decoded.close();
                batcher.release(slot);
                finished.countDown();
            }
        }, posts);
    }

    /** Post-processing stage: class map, statistics, files. */
    private void finish(InputImage image, DecodedImage decoded, InferenceBatcher.Slot slot, long decodeNanos,
            long preprocessNanos, Progress progress) {
        try {
            long t0 = System.nanoTime();
            Postprocessor.ClassMap map = postprocessor.apply(slot.output(), slot.index(), decoded.width(), decoded.height());
            double post = ms(System.nanoTime() - t0);
            outputs.write(image, decoded, map.ids(), encodeMillis -> {
                StageTimings timings = new StageTimings(ms(decodeNanos), ms(preprocessNanos), ms(slot.queueNanos()),
                        ms(slot.inferenceNanos()), post, encodeMillis, ms(decodeNanos + preprocessNanos
                                + slot.queueNanos() + slot.inferenceNanos()) + post + encodeMillis);
                Segmentation segmentation = new Segmentation(decoded.width(), decoded.height(), decoded.format(),
                        postprocessor.classNames(), map.ids(), map.statistics(), timings, null, null, slot.batchSize());
                return SegmentationReport.of(image.label(), segmentation, sessions.get(0), settings.normalization());
            });
            progress.segmented();
        } catch (IOException | RuntimeException e) {
            progress.failed(image.label(), "writing outputs failed: " + e);
        }
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
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
