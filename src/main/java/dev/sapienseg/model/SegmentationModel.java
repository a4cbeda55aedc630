package dev.sapienseg.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.jboss.logging.Logger;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.platform.Fp16Conversions;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;

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
    private final long warmUpMillis;
    private final ModelIdentity identity;
    /** Float16 model input or output (some fp16 exports): converted here, at the model's boundary. */
    private final boolean halfInput;
    private final boolean halfOutput;
    private final ThreadLocal<ShortBuffer> halfInputScratch = new ThreadLocal<>();
    private final ThreadLocal<ShortBuffer> halfOutputScratch = new ThreadLocal<>();

    private SegmentationModel(OrtEnvironment env, OrtSession session, ModelContract contract, Path path,
            ExecutionProvider provider, String providerNote, Map<String, String> metadata, long warmUpMillis,
            boolean halfInput, boolean halfOutput, ModelIdentity identity) {
        this.identity = identity == null ? ModelIdentity.UNKNOWN : identity;
        this.env = env;
        this.session = session;
        this.contract = contract;
        this.path = path;
        this.provider = provider;
        this.providerNote = providerNote;
        this.metadata = metadata;
        this.warmUpMillis = warmUpMillis;
        this.halfInput = halfInput;
        this.halfOutput = halfOutput;
    }

    /** Loads the model, checks its contract and runs one warm-up inference. */
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
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ExecutionProvider provider = settings.provider();
        String providerNote = null;
        OrtSession session;
        try {
            session = createSession(env, settings, provider);
        } catch (CudaUnavailableException e) {
            if (!settings.cudaFallbackToCpu()) {
                throw new ModelLoadException("CUDA requested but unavailable: " + e.getMessage()
                        + " (set sapiens.execution.cuda-fallback=cpu to serve on CPU instead)", e);
            }
            LOG.warnf("CUDA requested but unavailable (%s); serving on CPU as sapiens.execution.cuda-fallback=cpu allows",
                    e.getMessage());
            provider = ExecutionProvider.CPU;
            providerNote = "fallback from cuda: " + e.getMessage();
            try {
                session = createSession(env, settings, provider);
            } catch (CudaUnavailableException impossible) { // only CUDA sessions raise it
                throw new ModelLoadException(impossible.getMessage(), impossible);
            }
        }
        try {
            ModelContract declared = ModelContract.read(session, settings.defaultInputHeight(), settings.defaultInputWidth());
            boolean halfInput = ModelContract.isHalf(session.getInputInfo(), declared.inputName());
            boolean halfOutput = ModelContract.isHalf(session.getOutputInfo(), declared.outputName());
            Map<String, String> metadata = session.getMetadata().getCustomMetadata();
            boolean warm = switch (settings.warmUp()) {
                case ALWAYS -> true;
                case NEVER -> false;
                case AUTO -> provider == ExecutionProvider.CUDA || !declared.outputDeclared();
            };
            if (!warm && !declared.outputDeclared()) {
                throw new ModelLoadException("the model leaves its output dimensions dynamic: only a warm-up run can"
                        + " settle them (set sapiens.execution.warm-up=auto or always)");
            }
            long start = System.nanoTime();
            ModelContract contract = warm ? warmUp(env, session, declared, halfInput) : declared;
            long warmUpMillis = warm ? Math.max(1, (System.nanoTime() - start) / 1_000_000) : 0;
            if (halfInput || halfOutput) {
                LOG.infof("model %s has float16 %s: converted to and from float32 around each run", path.getFileName(),
                        halfInput && halfOutput ? "input and output" : halfInput ? "input" : "output");
            }
            return new SegmentationModel(env, session, contract, path, provider, providerNote, Map.copyOf(metadata),
                    warmUpMillis, halfInput, halfOutput, settings.identity());
        } catch (ModelLoadException e) {
            closeQuietly(session);
            throw e;
        } catch (OrtException | RuntimeException e) {
            closeQuietly(session);
            throw new ModelLoadException("the model failed its warm-up inference: " + e.getMessage(), e);
        }
    }

    private static OrtSession createSession(OrtEnvironment env, ModelSettings settings, ExecutionProvider provider)
            throws ModelLoadException, CudaUnavailableException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (settings.intraOpThreads() > 0) {
                options.setIntraOpNumThreads(settings.intraOpThreads());
            }
            if (settings.interOpThreads() > 0) {
                options.setInterOpNumThreads(settings.interOpThreads());
            }
            // Idle ONNX Runtime threads otherwise spin for a while after each run, taking the cores that decoding and
            // post-processing of the other pictures need.
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            if (provider == ExecutionProvider.CPU) {
                // Memory patterns pre-plan one block for every intermediate tensor of a run; with Sapiens' 600 MB head
                // activations that is 1.4 GB more peak memory (0.3b, faster forms: 4.97 GB -> 3.54 GB) at the same
                // speed. The arena stays: without it every large tensor is mapped and faulted in anew (40 % slower).
                options.setMemoryPatternOptimization(false);
            }
            if (provider == ExecutionProvider.CUDA) {
                addCuda(options, settings);
            }
            try {
                return env.createSession(settings.path().toString(), options);
            } catch (OrtException e) {
                String message = String.valueOf(e.getMessage());
                if (message.contains("INVALID_PROTOBUF") || message.contains("Protobuf parsing failed")) {
                    throw new ModelLoadException("not an ONNX model: " + settings.path().toAbsolutePath()
                            + " (ONNX Runtime: " + message + ")", e);
                }
                if (provider == ExecutionProvider.CUDA) { // e.g. cuDNN missing: surfaces only when the session starts
                    throw new CudaUnavailableException("session creation with CUDA failed: " + message, e);
                }
                throw new ModelLoadException("ONNX Runtime could not load " + settings.path().toAbsolutePath() + ": " + message, e);
            }
        } catch (OrtException e) {
            throw new ModelLoadException("could not prepare session options: " + e.getMessage(), e);
        }
    }

    private static void addCuda(OrtSession.SessionOptions options, ModelSettings settings)
            throws CudaUnavailableException {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw new CudaUnavailableException("this build's ONNX Runtime has no CUDA provider (build with -Pgpu)", null);
        }
        try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(settings.cudaDeviceId())) {
            for (Map.Entry<String, String> option : settings.cudaOptions().entrySet()) {
                cuda.add(option.getKey(), option.getValue());
            }
            options.addCUDA(cuda);
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
            throw new CudaUnavailableException(String.valueOf(e.getMessage()), e);
        }
    }

    /** One inference on zeros: loads kernels and allocators, and settles output dimensions the model left dynamic. */
    private static ModelContract warmUp(OrtEnvironment env, OrtSession session, ModelContract declared,
            boolean halfInput) throws OrtException, ModelLoadException {
        int batch = declared.batchFor(1);
        long count = (long) batch * declared.inputFloatsPerImage();
        long[] shape = {batch, 3, declared.inputHeight(), declared.inputWidth()};
        try (OnnxTensor input = halfInput // zero is all-zero bits in float16 as in float32
                ? OnnxTensor.createTensor(env, directShorts(count), shape, OnnxJavaType.FLOAT16)
                : OnnxTensor.createTensor(env, directFloats(count), shape);
                OrtSession.Result result = session.run(Map.of(declared.inputName(), input))) {
            OnnxValue output = result.get(declared.outputName())
                    .orElseThrow(() -> new ModelLoadException("the model returned no '" + declared.outputName() + "'"));
            if (!(output.getInfo() instanceof TensorInfo info)) {
                throw new ModelLoadException("output '" + declared.outputName() + "' is not a tensor");
            }
            ModelContract observed = declared.withObservedOutput(info.getShape());
            if (info.getShape()[0] != batch) {
                throw new ModelLoadException("the model returned a batch of " + info.getShape()[0] + " for " + batch + " images");
            }
            return observed;
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

    private static ShortBuffer directShorts(long count) {
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

    /** How long the warm-up run took; 0 when there was none (see {@link WarmUp}). */
    public long warmUpMillis() {
        return warmUpMillis;
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

    /** CUDA cannot be used on this machine or build; the fallback policy decides what happens. */
    private static final class CudaUnavailableException extends Exception {
        CudaUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
