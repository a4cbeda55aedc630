package dev.sapienseg.batch;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.failure.SegmentationException;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputLayout;
import dev.sapienseg.output.OutputPlanner;
import dev.sapienseg.pipeline.Deadlines;
import dev.sapienseg.pipeline.InferenceBatcher;
import dev.sapienseg.pipeline.MemoryBound;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.pipeline.SegmentationRequest;
import dev.sapienseg.pipeline.Submission;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.util.DaemonThreads;

/**
 * Segments many pictures as a pipeline, not a loop, through the same segmenter as the function
 * ({@link SegmentationPipeline#submit}): a decode pool reads, decodes and preprocesses straight into the next batch's
 * model input ({@link InferenceBatcher}, which runs full batches on every session), and a post pool turns each
 * finished picture into its outputs and files while the next batch runs.
 *
 * <p>Memory is bounded by the batcher's pool ({@code sessions + 2} batches of {@code batchSize × (9.4 MB input + 22 MB
 * logits)} at 1024×768); decoders wait for a free slot. Every picture ends as segmented, skipped (outputs complete)
 * or failed with a reason.
 */
public final class BatchRunner {

    /** @param threads decode and post-processing threads each */
    public record Settings(int batchSize, int threads, boolean force, Normalization normalization) {
    }

    /** A batch run waits for the model as long as it takes: it has no caller to answer in time. */
    private static final Duration NO_DEADLINE = Duration.ofDays(365);

    private final List<SegmentationModel> sessions;
    private final Settings settings;
    private final ImageDecoder decoder;
    private final BatchOutputs outputs;

    public BatchRunner(List<SegmentationModel> sessions, Settings settings, ImageDecoder decoder, BatchOutputs outputs) {
        this.sessions = sessions;
        this.settings = settings;
        this.decoder = decoder;
        this.outputs = outputs;
    }

    /** Images per model run (the batch size, or a model's fixed batch). */
    public int batchCapacity() {
        return sessions.get(0).contract().batchFor(settings.batchSize());
    }

    public void run(List<InputImage> images, Progress progress) throws InterruptedException {
        // No delay: a batch runs when it is full, or when the last picture has been decoded (flush). No admission or
        // memory limit either: the batcher's pool of buffers is what holds the decoders back.
        InferenceBatcher.Settings batching = new InferenceBatcher.Settings(settings.batchSize(), null);
        Deadlines.Settings unbounded = new Deadlines.Settings(Optional.of(NO_DEADLINE), 2, NO_DEADLINE,
                Integer.MAX_VALUE, settings.batchSize(), sessions.size(), Duration.ZERO);
        try (SegmentationPipeline pipeline = new SegmentationPipeline(decoder, sessions, new SegmentationPipeline.Settings(
                settings.normalization(), batching, unbounded, new MemoryBound(Long.MAX_VALUE / 4), planner()))) {
            ExecutorService decoders = Executors.newFixedThreadPool(settings.threads(), DaemonThreads.numbered("sapiens-decode"));
            ExecutorService posts = Executors.newFixedThreadPool(settings.threads(), DaemonThreads.numbered("sapiens-post"));
            CountDownLatch finished = new CountDownLatch(images.size());
            AtomicInteger toDecode = new AtomicInteger(images.size());
            for (InputImage image : images) {
                decoders.execute(() -> {
                    try {
                        prepare(image, pipeline, posts, progress, finished);
                    } finally {
                        if (toDecode.decrementAndGet() == 0) {
                            pipeline.flush();
                        }
                    }
                });
            }
            finished.await();
            decoders.shutdown();
            posts.shutdown();
        }
    }

    /** The pictures' plan is made already ({@link BatchOutputs#plan()}): this planner only names the classes. */
    private OutputPlanner planner() {
        return new OutputPlanner(Vocabulary.of(sessions.get(0).contract().family()), null, false);
    }

    /**
     * Decode stage: skip complete outputs, read, submit (decoded and preprocessed straight into a batch's input), hand
     * the rest to the post pool. Every path ends the picture exactly once: segmented, skipped or failed.
     */
    private void prepare(InputImage image, SegmentationPipeline pipeline, ExecutorService posts, Progress progress,
            CountDownLatch finished) {
        if (!settings.force() && outputs.complete(image)) {
            progress.skipped();
            finished.countDown();
            return;
        }
        Submission submission;
        try {
            byte[] picture = Files.readAllBytes(image.source());
            submission = pipeline.submit(new SegmentationRequest(picture, outputs.plan(), 0,
                    OutputLayout.overlayFormat(image.extension())));
        } catch (SegmentationException e) {
            fail(image, e.reason().code() + ": " + e.getMessage(), progress, finished);
            return;
        } catch (IOException e) {
            fail(image, "unreadable: " + e, progress, finished);
            return;
        } catch (RuntimeException | OutOfMemoryError e) {
            fail(image, "preprocessing failed: " + e, progress, finished);
            return;
        }
        submission.inference().whenCompleteAsync((done, failure) -> {
            try (submission) {
                if (failure != null) {
                    progress.failed(image.label(), String.valueOf(failure.getMessage()));
                } else {
                    finish(image, submission, pipeline, progress);
                }
            } finally {
                finished.countDown();
            }
        }, posts);
    }

    private static void fail(InputImage image, String reason, Progress progress, CountDownLatch finished) {
        progress.failed(image.label(), reason);
        finished.countDown();
    }

    /** Post-processing stage: class map, statistics, outputs, then the files, the summary last. */
    private void finish(InputImage image, Submission submission, SegmentationPipeline pipeline, Progress progress) {
        try {
            Segmentation segmentation = submission.finish();
            outputs.write(image, segmentation, SegmentationReport.summary(image.label(), segmentation, pipeline.model(),
                    settings.normalization()));
            progress.segmented();
        } catch (IOException | RuntimeException e) {
            progress.failed(image.label(), "writing outputs failed: " + e);
        }
    }
}
