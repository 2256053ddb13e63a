// MSBuild inline task (RoslynCodeTaskFactory), loaded by PatchLibTorchSharp.targets.
//
// libLibTorchSharp.so 0.107.0 was linked against GCC 13's libstdc++ and so asks for the symbol
// version GLIBCXX_3.4.32, for one symbol only: std::ios_base_library_init(), a dummy that is never
// called. Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so the dynamic loader refuses the library
// (and TorchSharp reports it as a missing libtorch). This task removes that version requirement
// from a copy of the library in a build output folder:
//   1. every .dynsym entry whose .gnu.version index is GLIBCXX_3.4.32's gets index 1 (global,
//      i.e. unversioned), and
//   2. the GLIBCXX_3.4.32 Vernaux entry is unlinked from its Verneed chain in .gnu.version_r
//      (the previous entry's vna_next skips it, or vn_aux does when it is first; vn_cnt - 1).
// Nothing moves and no size changes. A file without that requirement (including one already
// patched) is left untouched, so running the task twice changes nothing the second time.
// Only ELF64 little-endian files are handled. The file is rewritten through a temporary file and
// a rename, so a hard link or symbolic link into the NuGet cache is replaced, never written through.

#nullable enable

using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchLibTorchSharpGlibcxx : Task
{
    /// The libLibTorchSharp.so copies to patch (in $(OutDir) or $(PublishDir), never the NuGet cache).
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// The symbol version to drop.
    public string Version { get; set; } = "GLIBCXX_3.4.32";

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var bytes = File.ReadAllBytes(path);
                var symbols = Patch(bytes, Version);
                if (symbols == null)
                {
                    Log.LogMessage(MessageImportance.Low, "{0}: no {1} requirement, left as it is", path, Version);
                    continue;
                }
                Replace(path, bytes);
                Log.LogMessage(MessageImportance.High,
                    "Patched {0}: dropped the {1} requirement (symbols made unversioned: {2})",
                    path, Version, symbols.Count == 0 ? "none" : string.Join(", ", symbols));
            }
            catch (Exception e)
            {
                Log.LogError("Could not patch {0}: {1}", path, e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    // Writes the patched bytes beside the file and renames them over it, keeping its mode bits
    // (File.Copy keeps them on Unix) and its modification time (so an incremental Copy that compares
    // size and time keeps skipping the file instead of copying the unpatched one again).
    static void Replace(string path, byte[] bytes)
    {
        var time = File.GetLastWriteTimeUtc(path);
        var temp = path + ".patching";
        File.Copy(path, temp, overwrite: true);
        using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write))
            stream.Write(bytes, 0, bytes.Length);
        File.Delete(path);
        File.Move(temp, path);
        File.SetLastWriteTimeUtc(path, time);
    }

    const uint ShtDynsym = 11;

    sealed class Section
    {
        public string Name = "";
        public uint Type, Link, Info;
        public long Offset, Size, EntSize;
    }

    /// Removes the requirement for `version` from the ELF image in place. Returns the names of the
    /// symbols that were made unversioned, or null when the image does not require `version`.
    public static List<string>? Patch(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not ELF64 little-endian");

        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C), shstrndx = U16(elf, 0x3E);
        if (shoff <= 0 || shentsize < 64 || shnum == 0 || shstrndx >= shnum || shoff + (long)shnum * shentsize > elf.Length)
            throw new InvalidDataException("bad section header table");

        var sections = new Section[shnum];
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            sections[i] = new Section
            {
                Type = U32(elf, h + 4), Offset = (long)U64(elf, h + 24), Size = (long)U64(elf, h + 32),
                Link = U32(elf, h + 40), Info = U32(elf, h + 44), EntSize = (long)U64(elf, h + 56),
            };
            if (sections[i].Type != 8 /* SHT_NOBITS */ && sections[i].Offset + sections[i].Size > elf.Length)
                throw new InvalidDataException("section " + i + " runs past the end of the file");
        }
        var shstrtab = sections[shstrndx];
        for (int i = 0; i < shnum; i++)
            sections[i].Name = Str(elf, shstrtab, U32(elf, shoff + (long)i * shentsize));

        Section Find(string name) =>
            Array.Find(sections, s => s.Name == name) ?? throw new InvalidDataException("no " + name + " section");
        var verneed = Array.Find(sections, s => s.Name == ".gnu.version_r");
        if (verneed == null)
            return null;                                             // no version requirements at all
        var dynsym = Find(".dynsym");
        var dynstr = Find(".dynstr");
        var versym = Find(".gnu.version");
        if (dynsym.Type != ShtDynsym || dynsym.EntSize != 24 || dynsym.Link >= shnum || verneed.Link >= shnum
            || sections[dynsym.Link] != dynstr || sections[verneed.Link] != dynstr)
            throw new InvalidDataException("unexpected .dynsym/.dynstr/.gnu.version_r layout");

        // Walk the Verneed chain (sh_info entries) and each one's Vernaux chain (vn_cnt entries).
        long vn = verneed.Offset;
        for (uint n = 0; n < verneed.Info; n++)
        {
            int count = U16(elf, vn + 2);
            long aux = vn + U32(elf, vn + 8), previous = -1;
            for (int a = 0; a < count; a++)
            {
                if (Str(elf, dynstr, U32(elf, aux + 8)) == version)
                {
                    if (count == 1)
                        throw new InvalidDataException(version + " is the only version required from " +
                            Str(elf, dynstr, U32(elf, vn + 4)) + "; unlinking the Verneed entry is not supported");
                    int index = U16(elf, aux + 6) & 0x7fff;          // vna_other: the index used in .gnu.version
                    var symbols = Unversion(elf, dynsym, dynstr, versym, index);
                    uint next = U32(elf, aux + 12);                  // relative to this entry; 0 at the end
                    if (previous < 0)
                        W32(elf, vn + 8, next == 0 ? 0 : U32(elf, vn + 8) + next);          // vn_aux
                    else
                        W32(elf, previous + 12, next == 0 ? 0 : U32(elf, previous + 12) + next); // vna_next
                    W16(elf, vn + 2, count - 1);                                              // vn_cnt
                    return symbols;
                }
                uint step = U32(elf, aux + 12);
                if (step == 0) break;
                previous = aux;
                aux += step;
            }
            uint nextVn = U32(elf, vn + 12);
            if (nextVn == 0) break;
            vn += nextVn;
        }
        return null;
    }

    // Gives every dynamic symbol whose version index is `index` the index 1 (global, unversioned).
    static List<string> Unversion(byte[] elf, Section dynsym, Section dynstr, Section versym, int index)
    {
        var names = new List<string>();
        long symbols = dynsym.Size / dynsym.EntSize;
        if (versym.Size < symbols * 2)
            throw new InvalidDataException(".gnu.version is shorter than .dynsym");
        for (long i = 0; i < symbols; i++)
        {
            long v = versym.Offset + i * 2;
            int entry = U16(elf, v);
            if ((entry & 0x7fff) != index) continue;
            W16(elf, v, 1 | (entry & 0x8000));                      // keep the hidden bit, if any
            names.Add(Str(elf, dynstr, U32(elf, dynsym.Offset + i * dynsym.EntSize)));
        }
        return names;
    }

    static string Str(byte[] elf, Section table, uint offset)
    {
        long start = table.Offset + offset, end = start;
        long limit = table.Offset + table.Size;
        if (start >= limit) throw new InvalidDataException("string offset past its table");
        while (end < limit && elf[end] != 0) end++;
        return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
    }

    static int U16(byte[] b, long o) => b[o] | b[o + 1] << 8;
    static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
    static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    static void W16(byte[] b, long o, int v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
    static void W32(byte[] b, long o, uint v) { for (int i = 0; i < 4; i++) b[o + i] = (byte)(v >> (8 * i)); }
}
