package dev.sapienseg.lifecycle;

import java.util.Optional;

import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.provisioning.ModelChoice;

/**
 * Where the pod is in getting its model ready, as one value: {@link SegmentationService} holds it behind one
 * reference and moves it forward; health, metrics and the adapters read it.
 */
public sealed interface ModelState {

    ModelPhase phase();

    /** The configured model, once it has been chosen. */
    default Optional<ModelChoice> choice() {
        return Optional.empty();
    }

    /** The state shutdown found, or this one before shutdown: what loading came to (failed, say). */
    default ModelState settled() {
        return this;
    }

    /** The model being served: ready, or stopping with requests still in flight. */
    default Optional<Ready> serving() {
        return Optional.empty();
    }

    /** Before anything is known, and while the sessions load. */
    record Loading(Optional<ModelChoice> choice) implements ModelState {
        @Override
        public ModelPhase phase() {
            return ModelPhase.LOADING;
        }
    }

    /** Fetching the model into the cache; the provisioner's progress is read live ({@code DownloadProgress}). */
    record Downloading(ModelChoice chosen) implements ModelState {
        @Override
        public ModelPhase phase() {
            return ModelPhase.DOWNLOADING;
        }

        @Override
        public Optional<ModelChoice> choice() {
            return Optional.of(chosen);
        }
    }

    /** Serving: the segmenter and how long it took to get here. */
    record Ready(ModelChoice chosen, SegmentationPipeline pipeline, long loadMillis) implements ModelState {
        @Override
        public ModelPhase phase() {
            return ModelPhase.READY;
        }

        @Override
        public Optional<ModelChoice> choice() {
            return Optional.of(chosen);
        }

        @Override
        public Optional<Ready> serving() {
            return Optional.of(this);
        }
    }

    /**
     * No model will come: the reason, for readiness data and every refused request.
     *
     * @param nativeLibraries true when OpenCV's native libraries could not load: the process cannot work at all
     */
    record Failed(Optional<ModelChoice> choice, String reason, boolean nativeLibraries) implements ModelState {
        @Override
        public ModelPhase phase() {
            return ModelPhase.FAILED;
        }
    }

    /**
     * SIGTERM received: readiness DOWN, new requests refused; the requests in flight finish on {@code was}'s
     * pipeline until the sessions are released.
     *
     * @param was the state when shutdown began
     */
    record Stopping(ModelState was, boolean released) implements ModelState {
        @Override
        public ModelPhase phase() {
            return ModelPhase.STOPPING;
        }

        @Override
        public Optional<ModelChoice> choice() {
            return was.choice();
        }

        @Override
        public ModelState settled() {
            return was;
        }

        @Override
        public Optional<Ready> serving() {
            return released ? Optional.empty() : was.serving();
        }
    }
}
