package dev.sapienseg.pipeline;

import dev.sapienseg.model.Normalization;

import java.util.List;
import java.util.concurrent.CompletableFuture;

import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.SegmentationModel;

/**
 * The segmentation sequence inside {@link SegmentationPipeline}: claim a slot in the
 * batch being filled → preprocess the decoded picture straight into it → mark it ready → the batch runs → read this
 * picture's logits into a class map at its original size → release the slot. Every way out of the sequence releases
 * what it took: a slot that could not be filled runs as padding and is released after its batch.
 */
final class SegmentationCore implements AutoCloseable {

    private final InferenceBatcher batcher;
    private final Preprocessor preprocessor;
    private final Postprocessor postprocessor;
    private final List<SegmentationModel> sessions;

    public SegmentationCore(List<SegmentationModel> sessions, Normalization normalization,
            InferenceBatcher.Settings batching) {
        this.sessions = List.copyOf(sessions);
        ModelContract contract = sessions.get(0).contract();
        this.preprocessor = new Preprocessor(contract.inputHeight(), contract.inputWidth(), normalization,
                contract.family().resize());
        this.postprocessor = new Postprocessor(contract);
        this.batcher = new InferenceBatcher(sessions, batching);
    }

    /**
     * Takes a slot (waiting until {@code deadlineNanos} for a free batch buffer) and preprocesses {@code image} into it.
     * The caller then waits for {@link Submitted#inference()} and calls {@link Submitted#classMap()} or
     * {@link Submitted#giveUp()}; the image stays the caller's.
     */
    public Submitted submit(DecodedImage image, long deadlineNanos) {
        long start = System.nanoTime();
        InferenceBatcher.Slot slot = batcher.claim(deadlineNanos);
        try {
            slot.buffers().write(preprocessor, image, slot.index());
        } catch (RuntimeException | OutOfMemoryError e) {
            batcher.abandon(slot);
            throw e;
        }
        batcher.ready(slot);
        return new Submitted(slot, image.width(), image.height(), System.nanoTime() - start);
    }

    /** Sends a partly filled batch now (the batch command, after its last picture). */
    public void flush() {
        batcher.flush();
    }

    public int batchCapacity() {
        return batcher.capacity();
    }

    public List<SegmentationModel> sessions() {
        return sessions;
    }

    public RunWatchdog watchdog() {
        return batcher.watchdog();
    }

    public RunTimes runTimes() {
        return batcher.runTimes();
    }

    /** Stops the batcher's threads; the sessions are closed by their owner. */
    @Override
    public void close() {
        batcher.close();
    }

    /** One picture in a batch. Exactly one of {@link #classMap()} and {@link #giveUp()} releases its slot. */
    public final class Submitted {
        private final InferenceBatcher.Slot slot;
        private final int width;
        private final int height;
        private final long preprocessNanos;
        private boolean released;

        private Submitted(InferenceBatcher.Slot slot, int width, int height, long preprocessNanos) {
            this.slot = slot;
            this.width = width;
            this.height = height;
            this.preprocessNanos = preprocessNanos;
        }

        /** Completes when the batch has run (exceptionally with a {@link SegmentationException} if it failed). */
        public CompletableFuture<?> inference() {
            return slot.result();
        }

        /**
         * The class map at the picture's original size, and what {@code extras} asks for from the logits, once
         * {@link #inference()} is done; releases the slot.
         */
        public Postprocessor.ClassMap classMap(Postprocessor.Extras extras) {
            try {
                slot.result().join();
                return slot.buffers().read(postprocessor, slot.index(), width, height, extras);
            } finally {
                release();
            }
        }

        /** The caller stops waiting (deadline, failure): the slot is released once its batch has run. */
        public void giveUp() {
            if (!released) {
                released = true;
                batcher.releaseWhenDone(slot);
            }
        }

        private void release() {
            if (!released) {
                released = true;
                batcher.release(slot);
            }
        }

        /** Whether the model has started on this picture (see {@link InferenceBatcher.Slot#started()}). */
        public boolean started() {
            return slot.started();
        }

        public long runStartNanos() {
            return slot.runStartNanos();
        }

        public long preprocessNanos() {
            return preprocessNanos;
        }

        public long queueNanos() {
            return slot.queueNanos();
        }

        public long inferenceNanos() {
            return slot.inferenceNanos();
        }

        public int batchSize() {
            return slot.batchSize();
        }
    }

    /** Milliseconds with two decimals, as every timing in replies and summaries is given. */
    public static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }
}
