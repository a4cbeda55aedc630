package dev.sapienseg.batch;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.SegmentationReport;
import dev.sapienseg.pipeline.Normalization;
import dev.sapienseg.pipeline.Postprocessor;
import dev.sapienseg.pipeline.Preprocessor;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.SegmentationException;
import dev.sapienseg.pipeline.StageTimings;
import dev.sapienseg.pipeline.TensorBuffers;

/**
 * Segments many pictures as a pipeline, not a loop: decoding and preprocessing (a thread pool) fill batches in
 * place in the model's input buffer, each model session (one thread per session) runs the full batches, and
 * post-processing plus writing (another pool) overlaps with the next batch's inference. The same units as the
 * function's request path: {@link ImageDecoder}, {@link Preprocessor}, {@link SegmentationModel},
 * {@link Postprocessor}.
 *
 * <p>Memory is bounded: batches come from a pool of {@code sessions + 2} (one filling, one per running session, one
 * being post-processed), each {@code batchSize × (9.4 MB input + 22 MB logits)} at 1024×768, and decoders wait for a
 * free slot. Every picture ends as segmented, skipped (outputs complete) or failed with a reason.
 */
public final class BatchRunner {

    /** @param threads decode and post-processing threads each */
    public record Settings(int batchSize, int threads, boolean force, Normalization normalization) {
    }

    private final List<SegmentationModel> sessions;
    private final Settings settings;
    private final ImageDecoder decoder;
    private final BatchOutputs outputs;
    private final Preprocessor preprocessor;
    private final Postprocessor postprocessor;
    private final ModelContract contract;
    private final int capacity;

    // Batch assembly state, guarded by `this`.
    private final Deque<Batch> free = new ArrayDeque<>();
    private int unallocated;
    private Batch filling;

    public BatchRunner(List<SegmentationModel> sessions, Settings settings, ImageDecoder decoder, BatchOutputs outputs) {
        this.sessions = sessions;
        this.settings = settings;
        this.decoder = decoder;
        this.outputs = outputs;
        this.contract = sessions.get(0).contract();
        this.preprocessor = new Preprocessor(contract.inputHeight(), contract.inputWidth(), settings.normalization());
        this.postprocessor = new Postprocessor(contract);
        this.capacity = Math.min(settings.batchSize(), contract.maxBatch());
        this.unallocated = sessions.size() + 2;
    }

    /** Images per model run (the batch size, limited by a model's fixed batch). */
    public int batchCapacity() {
        return capacity;
    }

    public void run(List<InputImage> images, Progress progress) throws InterruptedException {
        LinkedBlockingQueue<Batch> ready = new LinkedBlockingQueue<>();
        ExecutorService decoders = Executors.newFixedThreadPool(settings.threads(), named("sapiens-decode"));
        ExecutorService posts = Executors.newFixedThreadPool(settings.threads(), named("sapiens-post"));
        List<Thread> inference = new ArrayList<>();
        for (SegmentationModel session : sessions) {
            Thread t = new Thread(() -> infer(session, ready, posts, progress), "sapiens-infer-" + inference.size());
            t.start();
            inference.add(t);
        }
        AtomicInteger remaining = new AtomicInteger(images.size());
        Runnable decodedOne = () -> {
            if (remaining.decrementAndGet() == 0) {
                flush(ready);
                for (int i = 0; i < sessions.size(); i++) {
                    ready.add(Batch.END);
                }
            }
        };
        if (images.isEmpty()) {
            for (int i = 0; i < sessions.size(); i++) {
                ready.add(Batch.END);
            }
        }
        for (InputImage image : images) {
            decoders.execute(() -> {
                try {
                    prepare(image, ready, progress);
                } finally {
                    decodedOne.run();
                }
            });
        }
        for (Thread t : inference) {
            t.join();
        }
        decoders.shutdown();
        posts.shutdown();
        posts.awaitTermination(1, TimeUnit.DAYS);
    }

    /** Decode stage: skip complete outputs, decode, take a batch slot, preprocess straight into the model input. */
    private void prepare(InputImage image, LinkedBlockingQueue<Batch> ready, Progress progress) {
        if (!settings.force() && outputs.complete(image)) {
            progress.skipped();
            return;
        }
        long t0 = System.nanoTime();
        DecodedImage decoded;
        try {
            decoded = decoder.decode(Files.readAllBytes(image.source()));
        } catch (SegmentationException e) {
            progress.failed(image.label(), e.reason().code() + ": " + e.getMessage());
            return;
        } catch (IOException | RuntimeException e) {
            progress.failed(image.label(), "unreadable: " + e);
            return;
        }
        long t1 = System.nanoTime();
        Batch batch;
        int slot;
        try {
            synchronized (this) {
                while (filling == null) {
                    filling = free.poll();
                    if (filling == null && unallocated > 0) {
                        unallocated--;
                        filling = new Batch(new TensorBuffers(contract, capacity), capacity);
                    }
                    if (filling == null) {
                        wait();
                    }
                }
                batch = filling;
                slot = batch.claimed++;
                if (batch.claimed == capacity) {
                    batch.sealed = true;
                    filling = null;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            decoded.close();
            progress.failed(image.label(), "interrupted");
            return;
        }
        boolean ok = true;
        try {
            preprocessor.write(decoded, batch.buffers.input(), slot * contract.inputFloatsPerImage());
        } catch (RuntimeException e) {
            ok = false;
            progress.failed(image.label(), "preprocessing failed: " + e);
            decoded.close();
        }
        long t2 = System.nanoTime();
        synchronized (this) {
            batch.slots[slot] = ok ? new Slot(image, decoded, t1 - t0, t2 - t1, t2) : null;
            batch.filled++;
            dispatchIfReady(batch, ready);
        }
    }

    /** Called once every picture has passed the decode stage: the last, partial batch goes too. */
    private synchronized void flush(LinkedBlockingQueue<Batch> ready) {
        if (filling != null) {
            Batch last = filling;
            filling = null;
            last.sealed = true;
            if (last.claimed == 0) {
                free.add(last);
            } else {
                dispatchIfReady(last, ready);
            }
        }
    }

    private void dispatchIfReady(Batch batch, LinkedBlockingQueue<Batch> ready) {
        if (batch.sealed && batch.filled == batch.claimed) {
            ready.add(batch);
        }
    }

    /** Inference stage: one thread per model session. */
    private void infer(SegmentationModel session, LinkedBlockingQueue<Batch> ready, ExecutorService posts, Progress progress) {
        while (true) {
            Batch batch;
            try {
                batch = ready.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (batch == Batch.END) {
                return;
            }
            long start = System.nanoTime();
            try {
                batch.buffers.run(session, batch.claimed);
            } catch (Exception e) {
                for (int i = 0; i < batch.claimed; i++) {
                    Slot slot = batch.slots[i];
                    if (slot != null) {
                        progress.failed(slot.input.label(), "inference failed: " + e.getMessage());
                    }
                }
                release(batch, batch.claimed);
                continue;
            }
            long inferenceNanos = System.nanoTime() - start;
            for (int i = 0; i < batch.claimed; i++) {
                int index = i;
                posts.execute(() -> finish(session, batch, index, start, inferenceNanos, progress));
            }
        }
    }

    /** Post-processing stage: class map, statistics, files. */
    private void finish(SegmentationModel session, Batch batch, int index, long inferenceStart, long inferenceNanos,
            Progress progress) {
        Slot slot = batch.slots[index];
        try {
            if (slot == null) {
                return;
            }
            long t0 = System.nanoTime();
            DecodedImage image = slot.image;
            Postprocessor.ClassMap map = postprocessor.apply(batch.buffers.output(), index, image.width(), image.height());
            long t1 = System.nanoTime();
            outputs.write(slot.input, image, map.ids(), encodeMillis -> {
                double post = ms(t1 - t0);
                double queue = ms(inferenceStart - slot.preparedAt);
                StageTimings timings = new StageTimings(ms(slot.decodeNanos), ms(slot.preprocessNanos), queue,
                        ms(inferenceNanos), post, encodeMillis, ms(slot.decodeNanos + slot.preprocessNanos)
                                + queue + ms(inferenceNanos) + post + encodeMillis);
                Segmentation segmentation = new Segmentation(image.width(), image.height(), image.format(),
                        postprocessor.classNames(), map.ids(), map.statistics(), timings, null, null);
                return SegmentationReport.of(slot.input.label(), segmentation, session, settings.normalization());
            });
            progress.segmented();
        } catch (IOException | RuntimeException e) {
            progress.failed(slot.input.label(), "writing outputs failed: " + e);
        } finally {
            if (slot != null) {
                slot.image.close();
            }
            release(batch, 1);
        }
    }

    private synchronized void release(Batch batch, int slots) {
        batch.released += slots;
        if (batch.released >= batch.claimed) {
            batch.reset();
            free.add(batch);
            notifyAll();
        }
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private record Slot(InputImage input, DecodedImage image, long decodeNanos, long preprocessNanos, long preparedAt) {
    }

    /** Up to {@code capacity} pictures sharing one model run. */
    private static final class Batch {
        static final Batch END = new Batch(null, 0);

        final TensorBuffers buffers;
        final Slot[] slots;
        int claimed;
        int filled;
        int released;
        boolean sealed;

        Batch(TensorBuffers buffers, int capacity) {
            this.buffers = buffers;
            this.slots = new Slot[capacity];
        }

        void reset() {
            java.util.Arrays.fill(slots, null);
            claimed = 0;
            filled = 0;
            released = 0;
            sealed = false;
        }
    }
}
