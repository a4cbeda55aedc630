package dev.sapienseg.model;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.jboss.logging.Logger;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.platform.Fp16Conversions;

/**
 * One loaded ONNX segmentation model: an ONNX Runtime session, its contract, and the execution provider that is
 * actually in use. Knows nothing of images or HTTP: it turns an NCHW float buffer into logits.
 * {@link #run} may be called from several threads.
 */
public final class SegmentationModel implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(SegmentationModel.class);

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelContract contract;
    private final Path path;
    private final ExecutionProvider provider;
    private final String providerNote;
    private final Map<String, String> metadata;
    private final WarmUpRuns warmUp;
    private final ModelIdentity identity;
    /**
     * Float16 model input or output (some fp16 exports): the pipeline's buffers hold halves ({@link #runAsIs}); only
     * {@link #run}, for tools and tests, converts here.
     */
    private final boolean halfInput;
    private final boolean halfOutput;
    private final ThreadLocal<ShortBuffer> halfInputScratch = new ThreadLocal<>();
    private final ThreadLocal<ShortBuffer> halfOutputScratch = new ThreadLocal<>();

    private SegmentationModel(OrtEnvironment env, OrtSession session, ModelContract contract, Path path,
            ExecutionProvider provider, String providerNote, Map<String, String> metadata, WarmUpRuns warmUp,
            boolean halfInput, boolean halfOutput, ModelIdentity identity) {
        this.identity = identity == null ? ModelIdentity.UNKNOWN : identity;
        this.env = env;
        this.session = session;
        this.contract = contract;
        this.path = path;
        this.provider = provider;
        this.providerNote = providerNote;
        this.metadata = metadata;
        this.warmUp = warmUp;
        this.halfInput = halfInput;
        this.halfOutput = halfOutput;
    }

    /** Loads the model, checks its contract and runs the warm-up inferences. */
    public static SegmentationModel load(ModelSettings settings) throws ModelLoadException {
        Path path = settings.path();
        if (path == null) {
            throw new ModelLoadException("no model configured (set sapiens.model.path / SAPIENS_MODEL_PATH)");
        }
        if (!Files.exists(path)) {
            throw new ModelLoadException("model file not found: " + path.toAbsolutePath());
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new ModelLoadException("model path is not a readable file: " + path.toAbsolutePath());
        }
        ExecutionProvider provider = settings.provider();
        try {
            return open(settings, provider, null);
        } catch (GpuUnavailableException e) {
            if (!settings.cudaFallbackToCpu()) {
                throw new GpuUnavailableException(e.failure(), provider.label() + " requested but unavailable: "
                        + e.getMessage() + " (set sapiens.execution.cuda-fallback=cpu to serve on CPU instead)", e);
            }
            LOG.warnf("%s requested but unavailable (%s); serving on CPU as sapiens.execution.cuda-fallback=cpu allows",
                    provider.label(), e.getMessage());
            return open(settings.forCpuFallback(), ExecutionProvider.CPU,
                    "fallback from " + provider.label() + ": " + e.getMessage());
        }
    }

    /**
     * A session on {@code provider}, its contract checked and warmed up. A GPU that fails its warm-up runs (out of
     * memory at the largest batch, an engine that does not build) is unavailable like one whose session cannot start.
     */
    private static SegmentationModel open(ModelSettings settings, ExecutionProvider provider, String providerNote)
            throws ModelLoadException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = SessionFactory.create(env, settings, provider);
        try {
            ModelContract declared = ModelContract.read(session, settings.defaultInputHeight(), settings.defaultInputWidth());
            boolean halfInput = ModelContract.isHalf(session.getInputInfo(), declared.inputName());
            boolean halfOutput = ModelContract.isHalf(session.getOutputInfo(), declared.outputName());
            Map<String, String> metadata = session.getMetadata().getCustomMetadata();
            boolean warm = switch (settings.warmUp()) {
                case ALWAYS -> true;
                case NEVER -> false;
                case AUTO -> provider.gpu() || !declared.outputDeclared();
            };
            if (!warm && !declared.outputDeclared()) {
                throw new ModelLoadException("the model leaves its output dimensions dynamic: only a warm-up run can"
                        + " settle them (set sapiens.execution.warm-up=auto or always)");
            }
            // On the CPU a new batch shape searches nothing: one run of the smallest batch settles what it must.
            List<Integer> batches = !warm ? List.of() : declared.fixedBatch() > 0 ? List.of(declared.fixedBatch())
                    : provider.gpu() ? settings.warmUpBatches() : List.of(1);
            WarmUpRuns runs;
            try {
                runs = WarmUpRuns.run(env, session, declared, halfInput, batches); // none: the declared contract
            } catch (OrtException e) {
                if (provider.gpu()) {
                    String message = String.valueOf(e.getMessage());
                    throw new GpuUnavailableException(GpuFailure.of(message), provider.label() + " warm-up run failed: "
                            + GpuFailure.describe(message), e);
                }
                throw e;
            }
            if (halfInput || halfOutput) {
                LOG.infof("model %s has float16 %s: the batch buffers hold halves", settings.path().getFileName(),
                        halfInput && halfOutput ? "input and output" : halfInput ? "input" : "output");
            }
            return new SegmentationModel(env, session, runs.contract(), settings.path(), provider, providerNote,
                    Map.copyOf(metadata), runs, halfInput, halfOutput, settings.identity());
        } catch (ModelLoadException e) {
            closeQuietly(session);
            throw e;
        } catch (OrtException | RuntimeException e) {
            closeQuietly(session);
            throw new ModelLoadException("the model failed its warm-up inference: " + e.getMessage(), e);
        }
    }

    /**
     * Runs {@code batch} images. {@code input} holds {@code batch × inputFloatsPerImage} floats (direct, native order:
     * wrapped, not copied); the logits are written into {@code output}, {@code batch × outputFloatsPerImage} floats.
     * For a model with a fixed batch, {@code batch} must equal it (pad unused slots).
     */
    public void run(FloatBuffer input, FloatBuffer output, int batch) throws OrtException {
        if (contract.fixedBatch() > 0 && batch != contract.fixedBatch()) {
            throw new IllegalArgumentException("model has a fixed batch of " + contract.fixedBatch() + ", got " + batch);
        }
        FloatBuffer in = input.slice(0, batch * contract.inputFloatsPerImage());
        FloatBuffer out = output.slice(0, batch * contract.outputFloatsPerImage());
        long[] inShape = {batch, 3, contract.inputHeight(), contract.inputWidth()};
        long[] outShape = {batch, contract.classes(), contract.outputHeight(), contract.outputWidth()};
        ShortBuffer halfOut = halfOutput ? scratch(halfOutputScratch, out.remaining()) : null;
        try (OnnxTensor inputTensor = halfInput
                        ? OnnxTensor.createTensor(env, toHalf(in, scratch(halfInputScratch, in.remaining())), inShape,
                                OnnxJavaType.FLOAT16)
                        : OnnxTensor.createTensor(env, in, inShape);
                OnnxTensor outputTensor = halfOutput
                        ? OnnxTensor.createTensor(env, halfOut, outShape, OnnxJavaType.FLOAT16)
                        : OnnxTensor.createTensor(env, out, outShape);
                OrtSession.Result ignored = session.run(Map.of(contract.inputName(), inputTensor),
                        Map.of(contract.outputName(), outputTensor))) {
            // logits are now in `output` (or in `halfOut`)
        }
        if (halfOut != null) {
            for (int i = 0, n = out.remaining(); i < n; i++) {
                out.put(i, Fp16Conversions.fp16ToFloat(halfOut.get(i)));
            }
        }
    }

    /**
     * Runs {@code batch} images with buffers in the model's own element types ({@link ShortBuffer} of float16 where
     * {@link #halfInput()} / {@link #halfOutput()}, else {@link FloatBuffer}): wrapped, nothing converted here, so
     * the thread that runs the model only runs it.
     */
    public void runAsIs(Buffer input, Buffer output, int batch) throws OrtException {
        if (contract.fixedBatch() > 0 && batch != contract.fixedBatch()) {
            throw new IllegalArgumentException("model has a fixed batch of " + contract.fixedBatch() + ", got " + batch);
        }
        long[] inShape = {batch, 3, contract.inputHeight(), contract.inputWidth()};
        long[] outShape = {batch, contract.classes(), contract.outputHeight(), contract.outputWidth()};
        try (OnnxTensor inputTensor = tensor(input, batch * contract.inputFloatsPerImage(), inShape, halfInput);
                OnnxTensor outputTensor = tensor(output, batch * contract.outputFloatsPerImage(), outShape, halfOutput);
                OrtSession.Result ignored = session.run(Map.of(contract.inputName(), inputTensor),
                        Map.of(contract.outputName(), outputTensor))) {
            // the logits are now in `output`
        }
    }

    private OnnxTensor tensor(Buffer buffer, int count, long[] shape, boolean half) throws OrtException {
        if (half != buffer instanceof ShortBuffer) {
            throw new IllegalArgumentException("the model takes " + (half ? "float16" : "float32") + " here, not "
                    + buffer.getClass().getSimpleName());
        }
        return half ? OnnxTensor.createTensor(env, ((ShortBuffer) buffer).slice(0, count), shape, OnnxJavaType.FLOAT16)
                : OnnxTensor.createTensor(env, ((FloatBuffer) buffer).slice(0, count), shape);
    }

    private static ShortBuffer toHalf(FloatBuffer in, ShortBuffer half) {
        for (int i = 0, n = in.remaining(); i < n; i++) {
            half.put(i, Fp16Conversions.floatToFp16(in.get(i)));
        }
        return half;
    }

    /** A per-thread direct buffer of exactly {@code count} shorts, reused across runs of the same size or smaller. */
    private static ShortBuffer scratch(ThreadLocal<ShortBuffer> holder, int count) {
        ShortBuffer buffer = holder.get();
        if (buffer == null || buffer.capacity() < count) {
            buffer = directShorts(count);
            holder.set(buffer);
        }
        return buffer.slice(0, count);
    }

    /** A direct, native-order buffer of float16 values. */
    public static ShortBuffer directShorts(long count) {
        if (count > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("buffer of " + count + " halves is too large");
        }
        return ByteBuffer.allocateDirect((int) count * 2).order(ByteOrder.nativeOrder()).asShortBuffer();
    }

    /** A direct, native-order float buffer: ONNX Runtime wraps it without copying. */
    public static FloatBuffer directFloats(long count) {
        if (count > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("buffer of " + count + " floats is too large");
        }
        return ByteBuffer.allocateDirect((int) count * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    public ModelContract contract() {
        return contract;
    }

    public Path path() {
        return path;
    }

    /** The provider actually serving (may be CPU when CUDA was requested and fallback was allowed). */
    public ExecutionProvider provider() {
        return provider;
    }

    /** Why the provider differs from the requested one, or null. */
    public String providerNote() {
        return providerNote;
    }

    /** The model's custom metadata_props (e.g. {@code sapiens.demo}). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** True for the bundled pipeline demo model, which is not a real segmenter. */
    public boolean isDemo() {
        return Boolean.parseBoolean(metadata.getOrDefault("sapiens.demo", "false"));
    }

    public String name() {
        String name = metadata.get("sapiens.model");
        if (name != null) {
            return name;
        }
        String file = path.getFileName().toString();
        return file.endsWith(".onnx") ? file.substring(0, file.length() - 5) : file;
    }

    /** The served file's SHA-256 and source revision, as established when it was provisioned. */
    public ModelIdentity identity() {
        return identity;
    }

    /** How long the warm-up runs took together; 0 when there was none (see {@link WarmUp}). */
    public long warmUpMillis() {
        return warmUp.totalMillis();
    }

    /** The warm-up runs: batch sizes and times. */
    public WarmUpRuns warmUp() {
        return warmUp;
    }

    /** Whether the model takes float16 pictures: batch buffers then hold halves. */
    public boolean halfInput() {
        return halfInput;
    }

    /** Whether the model returns float16 logits. */
    public boolean halfOutput() {
        return halfOutput;
    }

    @Override
    public void close() {
        closeQuietly(session);
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            LOG.warn("closing the ONNX Runtime session failed", e);
        }
    }
}
