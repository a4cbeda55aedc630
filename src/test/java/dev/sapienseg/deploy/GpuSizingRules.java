package dev.sapienseg.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import dev.sapienseg.provisioning.ModelPreset;
import io.fabric8.knative.serving.v1.RevisionSpec;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;

/**
 * The function's image variant and its device, and how a GPU pod is sized: the provider each image runs, one whole
 * GPU or one MIG slice, the batch sizes, the GPU memory a batch takes against the device (and ONNX Runtime's
 * {@code gpu_mem_limit}), a CPU limit for the JVM's and ONNX Runtime's thread pools, and the CPU request derived from a
 * target rate ({@link #checkCpuSizing}, which reads the derivation from the manifest's comment).
 */
final class GpuSizingRules {

    /** Image tag: the provider it runs (deploy/: the GPU image, the GPU image with TensorRT, the CPU image). */
    static final Map<String, String> IMAGE_PROVIDERS = Map.of("gpu", "cuda", "gpu-tensorrt", "tensorrt", "cpu", "cpu");
    /** A MIG slice as the device plugin's mixed strategy advertises it: compute slices and nominal memory in GB. */
    static final Pattern MIG_SLICE = Pattern.compile("nvidia\\.com/mig-(\\d+)g\\.(\\d+)gb");

    /**
     * The server's CPU per 1080p picture with a class PNG reply (decode, pre- and post-processing, encoding, HTTP):
     * 55 ms, the highest of FeedBenchmark's 50-55 ms at 2-16 clients with a near-free model (42-47 ms of it outside
     * the model run; docs/performance.md#feeding-a-gpu). A CPU request is derived from it.
     */
    static final double CPU_MS_PER_PICTURE = 55;
    /** The derivation the manifests write beside the CPU request, in one comment block. */
    static final Pattern CPU_SIZING = Pattern.compile("target (\\d+(?:\\.\\d+)?) pictures/s x (\\d+(?:\\.\\d+)?) ms per"
            + " picture.*?= (\\d+(?:\\.\\d+)?) CPUs?\\b.*?request = limit = (\\d+(?:\\.\\d+)?)", Pattern.DOTALL);

    // GPU memory: ESTIMATES, never measured on a GPU.
    /**
     * Activations per picture of the Sapiens 0.3b architecture at fp32, 1024x768: 2.2 GB, from the CPU measurement
     * (3.54 GB peak RSS of one run in the export tool's faster forms, minus 1.36 GB of weights and the process). Half
     * of it for presets that compute in fp16. An estimate: the GPU's kernels and workspaces differ from the CPU's.
     */
    static final long ACTIVATIONS_FP32_0_3B = 2_200_000_000L;
    /** The CUDA context and cuDNN's workspace, counted under gpu_mem_limit: an estimate. */
    static final long CUDA_RESERVE = 1_500_000_000L;
    /** The CUDA context alone (outside ONNX Runtime's arena): an estimate. */
    static final long CUDA_CONTEXT = 500_000_000L;
    /** A MIG slice's usable memory, of its nominal GB counted as GiB (1g.10gb: 9.5 GiB), to be safe. */
    static final double MIG_USABLE_SHARE = 0.95;
    /**
     * Usable memory of the GPU products a node selector may name (GPU Operator's nvidia.com/gpu.product label); a
     * whole GPU that is not named counts as the smallest the manifests are for, an L4-class 24 GB GPU.
     */
    static final Map<String, Long> GPU_PRODUCTS = Map.of("NVIDIA-L4", 22L << 30, "NVIDIA-A10G", 22L << 30,
            "Tesla-T4", 14L << 30, "NVIDIA-A100-SXM4-40GB", 38L << 30, "NVIDIA-A100-SXM4-80GB", 78L << 30,
            "NVIDIA-A100-80GB-PCIe", 78L << 30, "NVIDIA-H100-80GB-HBM3", 78L << 30);
    static final long FULL_GPU_FLOOR = GPU_PRODUCTS.get("NVIDIA-L4");
    static final String GPU_MEM_LIMIT = "sapiens.execution.cuda-options.gpu_mem_limit";

    private GpuSizingRules() {
    }

    /** The batch sizes a pod runs: sapiens.batching.batch-sizes, else every size from 1 to max-batch-size. */
    static List<Integer> batchSizes(AppConfig cfg) {
        int max = cfg.getInt("sapiens.batching.max-batch-size");
        String listed = cfg.get("sapiens.batching.batch-sizes");
        if (listed == null || listed.isBlank()) {
            return IntStream.rangeClosed(1, max).boxed().toList();
        }
        List<Integer> sizes = new ArrayList<>();
        for (String size : listed.split(",")) {
            sizes.add(Integer.parseInt(size.strip()));
        }
        if (!sizes.contains(max)) {
            sizes.add(max); // always run, as the batcher does
        }
        return sizes;
    }

    /** The image tag's provider and device; for a pod with a GPU, its batch sizes, GPU memory and CPU limit. */
    static void checkImageAndDevice(String where, RevisionSpec pod, Container c, AppConfig cfg, List<String> problems) {
        String image = c.getImage();
        String tag = image.substring(Kustomize.imageName(image).length()).replaceFirst("^:", "").split("@")[0];
        Map<String, Quantity> limits = c.getResources() == null || c.getResources().getLimits() == null ? Map.of()
                : c.getResources().getLimits();
        Map<String, Quantity> devices = new TreeMap<>();
        limits.forEach((k, v) -> {
            if (k.startsWith("nvidia.com/")) {
                devices.put(k, v);
            }
        });
        String provider = cfg.get("sapiens.execution.provider").toLowerCase(Locale.ROOT);
        String expected = IMAGE_PROVIDERS.get(tag);
        if (expected == null) {
            problems.add(where + "image tag must be one of " + IMAGE_PROVIDERS.keySet() + ": " + image);
        } else if (expected.equals("cpu")) {
            if (!devices.isEmpty()) {
                problems.add(where + "the CPU image asks for a GPU");
            }
            if (!provider.equals("cpu")) {
                problems.add(where + "the CPU image must run with the cpu provider, not " + provider);
            }
        } else {
            boolean oneDevice = devices.size() == 1 && devices.values().iterator().next().getAmount().equals("1")
                    && (devices.containsKey("nvidia.com/gpu") || MIG_SLICE.matcher(devices.keySet().iterator().next())
                            .matches());
            if (!oneDevice) {
                problems.add(where + "a GPU image needs limits nvidia.com/gpu: 1 (or one MIG slice,"
                        + " nvidia.com/mig-<n>g.<m>gb: 1), found " + devices);
            }
            if (!provider.equals(expected)) {
                problems.add(where + "a " + tag + " image must run with SAPIENS_EXECUTION_PROVIDER=" + expected + ", not "
                        + provider);
            }
        }
        int max = cfg.getInt("sapiens.batching.max-batch-size");
        for (int size : batchSizes(cfg)) {
            if (size < 1 || size > max) {
                problems.add(where + "sapiens.batching.batch-sizes lists " + size + ", outside 1.."
                        + "sapiens.batching.max-batch-size " + max);
            }
        }
        if (!devices.isEmpty()) {
            checkCpuLimit(where, c, cfg, problems);
            checkGpuMemory(where, devices.keySet().iterator().next(), pod.getNodeSelector(), cfg, problems);
        }
    }

    /**
     * A GPU pod has a CPU limit (not below its request: Kubernetes refuses that), or tells the JVM its processors:
     * without either the JVM, ONNX Runtime and the GC size their thread pools from the node's cores.
     */
    static void checkCpuLimit(String where, Container c, AppConfig cfg, List<String> problems) {
        Quantity limit = c.getResources().getLimits().get("cpu");
        Quantity request = c.getResources().getRequests() == null ? null : c.getResources().getRequests().get("cpu");
        boolean processorCount = Optional.ofNullable(cfg.envValue("JAVA_TOOL_OPTIONS")).orElse("")
                .concat(" " + Optional.ofNullable(cfg.envValue("JAVA_OPTS")).orElse(""))
                .contains("-XX:ActiveProcessorCount=");
        if (limit == null && !processorCount) {
            problems.add(where + "a GPU pod needs a CPU limit (or -XX:ActiveProcessorCount in JAVA_TOOL_OPTIONS or"
                    + " JAVA_OPTS): without one the JVM, ONNX Runtime and the GC size their thread pools from the"
                    + " node's cores");
        }
        if (limit != null && request != null && cpus(request) > cpus(limit)) {
            problems.add(where + "CPU request " + request + " exceeds the CPU limit " + limit);
        }
    }

    /**
     * Device memory: the preset's weights + max batch x activations per picture + the CUDA reserve fit under
     * gpu_mem_limit (when set, else under the device's memory), and gpu_mem_limit fits the device minus the CUDA context.
     */
    static void checkGpuMemory(String where, String device, Map<String, String> nodeSelector, AppConfig cfg,
            List<String> problems) {
        String preset = cfg.get("sapiens.model.preset");
        Optional<Long> activations = preset == null ? Optional.empty() : activationsPerPicture(ModelPreset.byId(preset));
        if (activations.isEmpty()) {
            problems.add(where + "no GPU activation estimate for model preset " + preset + " (GpuSizingRules knows the"
                    + " 0.3b architecture): the batch cannot be checked against the GPU's memory");
            return;
        }
        int batch = cfg.getInt("sapiens.batching.max-batch-size");
        long weights = ModelPreset.byId(preset).downloadBytes();
        long need = need(weights, activations.get(), batch);
        String sum = "weights " + gb(weights) + " + " + batch + " x " + gb(activations.get()) + " activations + "
                + gb(CUDA_RESERVE) + " CUDA reserve = " + gb(need);
        Optional<Long> memory = deviceMemory(device, nodeSelector);
        if (memory.isEmpty()) {
            problems.add(where + "no memory known for GPU " + device + " " + nodeSelector);
            return;
        }
        String memLimit = cfg.mapEntry(GPU_MEM_LIMIT);
        if (memLimit != null) {
            long arena = Long.parseLong(memLimit.strip());
            if (need > arena) {
                problems.add(where + sum + " does not fit gpu_mem_limit " + gb(arena) + " (max batch that fits: "
                        + largestBatch(weights, activations.get(), arena) + ")");
            }
            if (arena > memory.get() - CUDA_CONTEXT) {
                problems.add(where + "gpu_mem_limit " + gb(arena) + " exceeds " + device + "'s " + gb(memory.get())
                        + " minus the CUDA context " + gb(CUDA_CONTEXT));
            }
        } else if (need > memory.get()) {
            problems.add(where + sum + " does not fit " + device + "'s " + gb(memory.get()) + " (max batch that fits: "
                    + largestBatch(weights, activations.get(), memory.get()) + ")");
        }
    }

    /** Activations per picture, where the preset's architecture has an estimate: 0.3b; half for fp16 compute. */
    static Optional<Long> activationsPerPicture(ModelPreset preset) {
        if (!preset.id().matches("(hf|lite)-0\\.3b(-.*)?")) {
            return Optional.empty();
        }
        return Optional.of(preset.description().contains("fp16") ? ACTIVATIONS_FP32_0_3B / 2 : ACTIVATIONS_FP32_0_3B);
    }

    static long need(long weights, long activations, int batch) {
        return weights + batch * activations + CUDA_RESERVE;
    }

    /** The largest power-of-two batch whose need fits {@code bytes} (0 when not even one picture does). */
    static int largestBatch(long weights, long activations, long bytes) {
        int batch = 0;
        while (need(weights, activations, batch == 0 ? 1 : batch * 2) <= bytes) {
            batch = batch == 0 ? 1 : batch * 2;
        }
        return batch;
    }

    /** A MIG slice's usable memory from its name; a whole GPU's from a product node selector, else the floor. */
    static Optional<Long> deviceMemory(String device, Map<String, String> nodeSelector) {
        Matcher mig = MIG_SLICE.matcher(device);
        if (mig.matches()) {
            return Optional.of((long) (Integer.parseInt(mig.group(2)) * MIG_USABLE_SHARE * (1L << 30)));
        }
        String product = nodeSelector == null ? null : nodeSelector.get("nvidia.com/gpu.product");
        return product == null ? Optional.of(FULL_GPU_FLOOR) : Optional.ofNullable(GPU_PRODUCTS.get(product));
    }

    /** The CPU derivation written beside a CPU request: target pictures/s, ms per picture, the CPUs, the request. */
    record CpuSizing(Path file, double picturesPerSecond, double msPerPicture, double cpus, double request) {
    }

    /**
     * The derivation that sizes an overlay's CPU request: the first comment block matching {@link #CPU_SIZING} in the
     * overlay's own patches and components, then in its resources, depth first (the file that sets the number).
     */
    static Optional<CpuSizing> cpuSizing(Path dir) {
        Kustomize.Kustomization k = Kustomize.load(dir);
        List<Path> files = new ArrayList<>();
        List<Path> bases = new ArrayList<>();
        k.patchesOrEmpty().forEach(p -> files.add(dir.resolve(p.path()).normalize()));
        for (String component : k.componentsOrEmpty()) {
            Path c = dir.resolve(component).normalize();
            Kustomize.load(c).patchesOrEmpty().forEach(p -> files.add(c.resolve(p.path()).normalize()));
        }
        for (String resource : k.resourcesOrEmpty()) {
            Path r = dir.resolve(resource).normalize();
            (Files.isDirectory(r) ? bases : files).add(r);
        }
        Optional<CpuSizing> own = files.stream().map(GpuSizingRules::parse).flatMap(Optional::stream).findFirst();
        return own.isPresent() ? own
                : bases.stream().map(GpuSizingRules::cpuSizing).flatMap(Optional::stream).findFirst();
    }

    /** The derivation in one file's comment blocks (consecutive comment lines), if any. */
    static Optional<CpuSizing> parse(Path file) {
        try {
            return parse(file, Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Optional<CpuSizing> parse(Path file, String text) {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = new StringBuilder();
        for (String line : (text + "\n").split("\n")) {
            String t = line.strip();
            if (t.startsWith("#")) {
                block.append(t.substring(1).strip()).append(' ');
            } else if (!block.isEmpty()) {
                blocks.add(block.toString());
                block.setLength(0);
            }
        }
        for (String b : blocks) {
            Matcher m = CPU_SIZING.matcher(b);
            if (m.find()) {
                return Optional.of(new CpuSizing(file, Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)),
                        Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4))));
            }
        }
        return Optional.empty();
    }

    /**
     * A GPU Service's CPU request follows its derivation: the measured CPU per picture, target x ms = the CPUs the
     * comment states, and request = limit = the comment's number, at least target x ms / 1000.
     */
    static List<String> checkCpuSizing(Service service, Optional<CpuSizing> sizing) {
        return checkCpuSizing("Service " + KnativeManifests.name(service) + ": ",
                service.getSpec().getTemplate().getSpec().getContainers().get(0), sizing);
    }

    /** The same for any GPU pod's container (KServe's predictor). */
    static List<String> checkCpuSizing(String where, Container c, Optional<CpuSizing> sizing) {
        List<String> problems = new ArrayList<>();
        if (sizing.isEmpty()) {
            problems.add(where + "no CPU sizing comment (\"target <n> pictures/s x <ms> ms per picture = <c> CPUs"
                    + " ... request = limit = <cpus>\") beside its CPU request");
            return problems;
        }
        CpuSizing s = sizing.get();
        double needed = s.picturesPerSecond() * s.msPerPicture() / 1000;
        if (s.msPerPicture() != CPU_MS_PER_PICTURE) {
            problems.add(where + s.file() + ": " + s.msPerPicture() + " ms per picture is not the measured "
                    + CPU_MS_PER_PICTURE + " ms (GpuSizingRules.CPU_MS_PER_PICTURE)");
        }
        if (Math.abs(s.cpus() - needed) > 0.05) {
            problems.add(where + s.file() + ": " + s.picturesPerSecond() + " x " + s.msPerPicture() + " ms is "
                    + needed + " CPUs, not " + s.cpus());
        }
        Map<String, Quantity> requests = c.getResources() == null ? null : c.getResources().getRequests();
        Map<String, Quantity> limits = c.getResources() == null ? null : c.getResources().getLimits();
        Quantity request = requests == null ? null : requests.get("cpu");
        Quantity limit = limits == null ? null : limits.get("cpu");
        if (request == null || cpus(request) < needed) {
            problems.add(where + "CPU request " + request + " is below " + s.picturesPerSecond() + " pictures/s x "
                    + s.msPerPicture() + " ms = " + needed + " CPUs (" + s.file() + ")");
        }
        if (request == null || cpus(request) != s.request() || limit == null || cpus(limit) != s.request()) {
            problems.add(where + "CPU request " + request + " and limit " + limit + " are not the " + s.request()
                    + " its derivation states (" + s.file() + ")");
        }
        return problems;
    }

    /** Whether a Service's container has a GPU or MIG slice. */
    static boolean hasGpu(Service service) {
        Container c = service.getSpec().getTemplate().getSpec().getContainers().get(0);
        return c.getResources() != null && c.getResources().getLimits() != null
                && c.getResources().getLimits().keySet().stream().anyMatch(k -> k.startsWith("nvidia.com/"));
    }

    static double cpus(Quantity q) {
        return Quantity.getAmountInBytes(q).doubleValue();
    }

    private static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }
}
