package dev.sapienseg.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The main code's packages form no cycle: each may use the ones below it and none above. Dependencies are read from
 * the sources (imports and fully qualified names of our own packages), so a cycle fails the build naming its path.
 */
class PackageCyclesTest {

    static final Path MAIN = Path.of("src/main/java");
    static final String ROOT = "dev.sapienseg";
    private static final Pattern REFERENCE = Pattern.compile("\\b" + Pattern.quote(ROOT) + "\\.([a-z][a-z0-9_]*)\\.[A-Z]");
    private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+);", Pattern.MULTILINE);

    static Map<String, Set<String>> dependencies(Path sources) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String text = Files.readString(file);
                Matcher pkg = PACKAGE.matcher(text);
                if (!pkg.find() || !pkg.group(1).startsWith(ROOT + ".")) {
                    continue; // the root package (Main) may use everything
                }
                String from = pkg.group(1).substring(ROOT.length() + 1).split("\\.")[0];
                Set<String> to = graph.computeIfAbsent(from, k -> new TreeSet<>());
                Matcher ref = REFERENCE.matcher(text.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", ""));
                while (ref.find()) {
                    if (!ref.group(1).equals(from)) {
                        to.add(ref.group(1));
                    }
                }
            }
        }
        return graph;
    }

    /** Every cycle found by a depth-first search, as "a -> b -> a". */
    static List<String> cycles(Map<String, Set<String>> graph) {
        List<String> found = new ArrayList<>();
        Map<String, Integer> state = new HashMap<>(); // 1 on the path, 2 done
        Deque<String> path = new ArrayDeque<>();
        for (String start : graph.keySet()) {
            visit(start, graph, state, path, found);
        }
        return found;
    }

    private static void visit(String node, Map<String, Set<String>> graph, Map<String, Integer> state,
            Deque<String> path, List<String> found) {
        Integer s = state.get(node);
        if (s != null && s == 2) {
            return;
        }
        if (s != null && s == 1) {
            List<String> cycle = new ArrayList<>();
            boolean in = false;
            for (java.util.Iterator<String> it = path.descendingIterator(); it.hasNext();) {
                String p = it.next();
                in |= p.equals(node);
                if (in) {
                    cycle.add(p);
                }
            }
            cycle.add(node);
            found.add(String.join(" -> ", cycle));
            return;
        }
        state.put(node, 1);
        path.push(node);
        for (String next : graph.getOrDefault(node, Set.of())) {
            visit(next, graph, state, path, found);
        }
        path.pop();
        state.put(node, 2);
    }

    @Test
    void theMainPackagesHaveNoCycle() throws IOException {
        Map<String, Set<String>> graph = dependencies(MAIN);
        assertTrue(graph.size() > 5, "packages found: " + graph.keySet());
        List<String> cycles = cycles(graph);
        assertEquals(List.of(), cycles, "package cycles; dependencies: " + graph);
    }

    @Test
    void theCheckFindsACycle(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Path a = Files.createDirectories(tmp.resolve("dev/sapienseg/alpha"));
        Path b = Files.createDirectories(tmp.resolve("dev/sapienseg/beta"));
        Files.writeString(a.resolve("A.java"), "package dev.sapienseg.alpha;\nimport dev.sapienseg.beta.B;\nclass A {}\n");
        Files.writeString(b.resolve("B.java"), "package dev.sapienseg.beta;\n// dev.sapienseg.gamma.C in a comment\n"
                + "class B { Object a = dev.sapienseg.alpha.A.class; }\n");
        assertEquals(List.of("alpha -> beta -> alpha"), cycles(dependencies(tmp)));
    }
}
