//! The tensors of a `torch.save` file (the zip format of torch >= 1.6), read without Python.
//!
//! A `torch.save` zip holds `<archive>/data.pkl`, a Python pickle (protocol 2) of the saved
//! object whose tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
//! ...)` calls on persistent ids `('storage', torch.FloatStorage, key, location, numel)`,
//! and one record `<archive>/data/<key>` per storage (little-endian, per `byteorder`).
//!
//! Written by hand because nothing well kept reads it: libtorch's own
//! `torch::jit::pickle_load` turns every `collections.OrderedDict` into None ("OrderedDicts
//! only appear in tensor deserialization", torch/csrc/jit/serialization/unpickler.cpp), so
//! it fails on every `model.state_dict()` with "Expected GenericDict but got None" (measured
//! with torch 2.11); serde-pickle has no persistent ids; candle's reader comes with a whole
//! tensor framework. The machine below runs only data opcodes: it never imports or calls
//! anything. The three torch functions a state_dict needs and `collections.OrderedDict`
//! are interpreted; any other class becomes an opaque [`Value::Object`] whose contents are
//! dropped (so `argparse.Namespace` beside a state_dict does no harm, and a whole pickled
//! `nn.Module` yields no tensors and is named in the error), as `torch.load(weights_only=True)`
//! refuses to build them.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use tch::{Kind, Tensor};

/// A decoded pickle value: only what a checkpoint's structure needs.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// None, a bool or a float: nothing a checkpoint's structure needs.
    Scalar,
    Int(i64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A dict (or OrderedDict) in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A class or function named by GLOBAL: `module.name`.
    Global(String),
    /// A persistent id: a storage record of the archive and its element count.
    Storage {
        key: String,
        kind: Kind,
        numel: u64,
    },
    /// `_rebuild_tensor_v2`: a strided view of a storage.
    Tensor(TensorRef),
    /// An instance of a class sarxai does not interpret (contents dropped; the class is
    /// listed in [`Unpickled::objects`]).
    Object,
}

/// A tensor as the pickle describes it, built from its storage record afterwards.
#[derive(Debug, Clone)]
pub(crate) struct TensorRef {
    key: String,
    kind: Kind,
    /// Elements the storage holds, as the persistent id says.
    numel: u64,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
}

/// Why a `torch.save` file cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PickleError {
    #[error("not a zip archive as torch.save writes them ({0})")]
    Zip(String),
    #[error("no <archive>/data.pkl record: not a torch.save file")]
    NoPickle,
    #[error("saved on a big-endian machine (byteorder 'big'): re-save it on a little-endian one")]
    BigEndian,
    #[error("malformed pickle at byte {at}: {why}")]
    Malformed { at: usize, why: String },
    #[error("storage {key}: {why}")]
    Storage { key: String, why: String },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// The decoded object of a `torch.save` file, and the classes it pickled that sarxai did
/// not interpret (a whole model shows up here).
pub(crate) struct Unpickled {
    pub value: Value,
    pub objects: Vec<String>,
}

/// Opens a zip written by torch (`torch.save`, `torch.jit.save`). The archive starts at
/// byte 0: zip's default search for a shifted start misreads some of torch's archives
/// ("Invalid Central Directory header" on 2 of 14 files written by torch 2.11).
pub(crate) fn open_zip(path: &Path) -> Result<zip::ZipArchive<std::fs::File>, PickleError> {
    let file = std::fs::File::open(path).map_err(|e| PickleError::Zip(e.to_string()))?;
    let config = zip::read::Config {
        archive_offset: zip::read::ArchiveOffset::Known(0),
    };
    zip::ZipArchive::with_config(config, file).map_err(|e| PickleError::Zip(e.to_string()))
}

/// Reads `data.pkl` of a `torch.save` zip and decodes it.
pub(crate) fn unpickle_file(path: &Path) -> Result<(Unpickled, Archive), PickleError> {
    let mut zip = open_zip(path)?;
    let pkl = zip
        .file_names()
        .flatten()
        .map(|n| n.into_owned())
        .find(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .ok_or(PickleError::NoPickle)?;
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    if read_record(&mut zip, &format!("{prefix}byteorder"), 16).is_ok_and(|b| b == b"big") {
        return Err(PickleError::BigEndian);
    }
    let bytes = read_record(&mut zip, &pkl, MAX_PICKLE)?;
    let unpickled = Machine::default().run(&bytes)?;
    Ok((
        unpickled,
        Archive {
            zip,
            prefix,
            storages: HashMap::new(),
        },
    ))
}

/// A record's bytes, at most `cap` of them (more is an error: a record that inflates past
/// what the pickle declares is refused before it fills memory).
fn read_record(
    zip: &mut zip::ZipArchive<std::fs::File>,
    name: &str,
    cap: u64,
) -> Result<Vec<u8>, PickleError> {
    let entry = zip
        .by_name(name)
        .map_err(|e| PickleError::Zip(format!("{name}: {e}")))?;
    let mut out = Vec::with_capacity(entry.size().min(cap).min(1 << 30) as usize);
    entry
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| PickleError::Zip(format!("{name}: {e}")))?;
    if out.len() as u64 > cap {
        return Err(PickleError::Zip(format!("{name}: more than {cap} bytes")));
    }
    Ok(out)
}

/// The largest `data.pkl` read: a ResNet-101 state_dict's is 40 KB, with an optimizer's
/// state a few hundred KB.
const MAX_PICKLE: u64 = 256 << 20;

/// The storage records of a `torch.save` zip, each read once.
pub(crate) struct Archive {
    zip: zip::ZipArchive<std::fs::File>,
    prefix: String,
    storages: HashMap<String, Tensor>,
}

impl Archive {
    /// The tensor a [`TensorRef`] describes, copied out of its storage (contiguous, CPU).
    pub(crate) fn tensor(&mut self, t: &TensorRef) -> Result<Tensor, PickleError> {
        if !self.storages.contains_key(&t.key) {
            let elt = t.kind.elt_size_in_bytes() as u64;
            let want = t
                .numel
                .checked_mul(elt)
                .ok_or_else(|| PickleError::Storage {
                    key: t.key.clone(),
                    why: format!("{} elements overflow", t.numel),
                })?;
            let name = format!("{}data/{}", self.prefix, t.key);
            let bytes = read_record(&mut self.zip, &name, want)?;
            if bytes.len() as u64 != want {
                return Err(PickleError::Storage {
                    key: t.key.clone(),
                    why: format!(
                        "{} bytes where the pickle declares {} {:?} elements",
                        bytes.len(),
                        t.numel,
                        t.kind
                    ),
                });
            }
            let numel = t.numel as i64;
            let s = Tensor::f_from_data_size(&bytes, &[numel], t.kind)?;
            self.storages.insert(t.key.clone(), s);
        }
        let storage = &self.storages[&t.key];
        let numel = storage.numel() as i64;
        let last = t.offset
            + t.size
                .iter()
                .zip(&t.stride)
                .map(|(&n, &s)| (n - 1).max(0) * s)
                .sum::<i64>();
        let empty = t.size.contains(&0);
        if t.offset < 0 || t.stride.iter().any(|&s| s < 0) || (!empty && last >= numel) {
            return Err(PickleError::Storage {
                key: t.key.clone(),
                why: format!(
                    "a view of size {:?}, stride {:?} at offset {} reaches past its {numel} elements",
                    t.size, t.stride, t.offset
                ),
            });
        }
        Ok(storage
            .f_as_strided(&t.size, &t.stride, Some(t.offset))?
            .contiguous())
    }
}

/// The pickle machine: a stack, marks and a memo; data opcodes only.
#[derive(Default)]
struct Machine {
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    objects: Vec<String>,
    /// Values copied by memo reads so far.
    copied: usize,
}

/// More than any checkpoint needs; bounds against hostile files: values on the stack,
/// nesting of containers (so that no recursion over a value goes deeper), and values copied
/// by memo reads in all (a chain of memo reads can otherwise double a value each time).
const MAX_STACK: usize = 1 << 20;
const MAX_DEPTH: usize = 64;
const MAX_COPIED: usize = 1 << 20;

/// The nesting depth of `v`, counted up to `limit` (deeper values stop the count there).
fn depth(v: &Value, limit: usize) -> usize {
    if limit == 0 {
        return 0;
    }
    match v {
        Value::Tuple(items) | Value::List(items) => {
            1 + items.iter().map(|x| depth(x, limit - 1)).max().unwrap_or(0)
        }
        Value::Dict(items) => {
            1 + items
                .iter()
                .map(|(k, x)| depth(k, limit - 1).max(depth(x, limit - 1)))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// The number of values in `v`, counted until the count passes `limit`.
fn count(v: &Value, limit: usize) -> usize {
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::Tuple(items) | Value::List(items) => Box::new(items.iter()),
        Value::Dict(items) => Box::new(items.iter().flat_map(|(k, x)| [k, x])),
        _ => return 1,
    };
    let mut n = 1;
    for c in children {
        if n > limit {
            break;
        }
        n += count(c, limit - n);
    }
    n
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| self.bad("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PickleError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }

    fn string(&mut self, n: usize) -> Result<String, PickleError> {
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.bad("a string that is not UTF-8"))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.bytes[self.at..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.bad("GLOBAL without a newline"))?;
        let s = self.string(n)?;
        self.at += 1;
        Ok(s)
    }

    fn bad(&self, why: &str) -> PickleError {
        PickleError::Malformed {
            at: self.at,
            why: why.to_string(),
        }
    }
}

impl Machine {
    fn run(mut self, bytes: &[u8]) -> Result<Unpickled, PickleError> {
        let mut r = Reader { bytes, at: 0 };
        loop {
            let op = r.u8()?;
            if op == b'.' {
                let value = self.pop(&r)?;
                return Ok(Unpickled {
                    value,
                    objects: self.objects,
                });
            }
            self.step(op, &mut r)?;
            if self.stack.len() > MAX_STACK {
                return Err(r.bad("stack too deep"));
            }
        }
    }

    /// One opcode (pickletools' names).
    fn step(&mut self, op: u8, r: &mut Reader) -> Result<(), PickleError> {
        match op {
            0x80 => drop(r.u8()?),    // PROTO
            0x95 => drop(r.take(8)?), // FRAME
            b'(' => self.marks.push(self.stack.len()),
            b'0' => drop(self.pop(r)?),                           // POP
            b'N' | 0x88 | 0x89 => self.stack.push(Value::Scalar), // NONE, NEWTRUE, NEWFALSE
            b'J' => self.stack.push(Value::Int(r.u32()? as i32 as i64)),
            b'K' => self.stack.push(Value::Int(r.u8()? as i64)),
            b'M' => self.stack.push(Value::Int(r.u16()? as i64)),
            0x8a => {
                let n = r.u8()? as usize;
                self.stack.push(Value::Int(long1(r.take(n)?, r)?));
            }
            b'G' => {
                r.take(8)?; // BINFLOAT
                self.stack.push(Value::Scalar);
            }
            b'X' => {
                let n = r.u32()? as usize;
                self.stack.push(Value::Str(r.string(n)?));
            }
            0x8c => {
                let n = r.u8()? as usize;
                self.stack.push(Value::Str(r.string(n)?));
            }
            b'}' => self.stack.push(Value::Dict(Vec::new())),
            b']' => self.stack.push(Value::List(Vec::new())),
            b')' => self.stack.push(Value::Tuple(Vec::new())),
            b't' => {
                let items = self.pop_mark(r)?;
                Self::shallow(&items, r)?;
                self.stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let items = self.pop_n(n, r)?;
                Self::shallow(&items, r)?;
                self.stack.push(Value::Tuple(items));
            }
            b'q' => self.put(r.u8()? as u32, r)?,
            b'r' => self.put(r.u32()?, r)?,
            0x94 => self.put(self.memo.len() as u32, r)?,
            b'h' => self.get(r.u8()? as u32, r)?,
            b'j' => self.get(r.u32()?, r)?,
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                self.stack.push(Value::Global(format!("{module}.{name}")));
            }
            0x93 => {
                let v = self.pop_n(2, r)?;
                let (Value::Str(m), Value::Str(n)) = (&v[0], &v[1]) else {
                    return Err(r.bad("STACK_GLOBAL without two strings"));
                };
                self.stack.push(Value::Global(format!("{m}.{n}")));
            }
            b'Q' => {
                let pid = self.pop(r)?;
                self.stack.push(persistent(pid, r)?);
            }
            b'R' | 0x81 => {
                let args = self.pop(r)?;
                let f = self.pop(r)?;
                let v = self.call(f, args, r)?;
                self.stack.push(v);
            }
            b'b' => drop(self.pop(r)?), // BUILD: state of a dict or an object, not needed
            b'a' => {
                let v = self.pop(r)?;
                self.extend_list(vec![v], r)?;
            }
            b'e' => {
                let items = self.pop_mark(r)?;
                self.extend_list(items, r)?;
            }
            b's' => {
                let kv = self.pop_n(2, r)?;
                self.extend_dict(kv, r)?;
            }
            b'u' => {
                let items = self.pop_mark(r)?;
                self.extend_dict(items, r)?;
            }
            _ => return Err(r.bad(&format!("opcode 0x{op:02x} is not one torch.save writes"))),
        }
        Ok(())
    }

    fn pop(&mut self, r: &Reader) -> Result<Value, PickleError> {
        self.stack.pop().ok_or_else(|| r.bad("stack underflow"))
    }

    fn pop_n(&mut self, n: usize, r: &Reader) -> Result<Vec<Value>, PickleError> {
        if self.stack.len() < n {
            return Err(r.bad("stack underflow"));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_mark(&mut self, r: &Reader) -> Result<Vec<Value>, PickleError> {
        let m = self.marks.pop().ok_or_else(|| r.bad("no MARK"))?;
        if m > self.stack.len() {
            return Err(r.bad("MARK above the stack"));
        }
        Ok(self.stack.split_off(m))
    }

    fn put(&mut self, i: u32, r: &Reader) -> Result<(), PickleError> {
        let top = self
            .stack
            .last()
            .ok_or_else(|| r.bad("PUT on an empty stack"))?;
        self.memo.insert(i, top.clone());
        Ok(())
    }

    fn get(&mut self, i: u32, r: &Reader) -> Result<(), PickleError> {
        let v = self
            .memo
            .get(&i)
            .ok_or_else(|| r.bad(&format!("GET of unset memo {i}")))?;
        self.copied += count(v, MAX_COPIED + 1);
        if self.copied > MAX_COPIED {
            return Err(r.bad("memo reads copy more than 2^20 values (a pickle bomb?)"));
        }
        self.stack.push(v.clone());
        Ok(())
    }

    /// Refuses items nested [`MAX_DEPTH`] deep before they go into a container.
    fn shallow(items: &[Value], r: &Reader) -> Result<(), PickleError> {
        if items.iter().any(|v| depth(v, MAX_DEPTH) >= MAX_DEPTH - 1) {
            return Err(r.bad("containers nested more than 64 deep"));
        }
        Ok(())
    }

    fn extend_list(&mut self, items: Vec<Value>, r: &Reader) -> Result<(), PickleError> {
        Self::shallow(&items, r)?;
        match self.stack.last_mut() {
            Some(Value::List(l)) => l.extend(items),
            Some(Value::Object) => {}
            _ => return Err(r.bad("APPEND to something not a list")),
        }
        Ok(())
    }

    fn extend_dict(&mut self, items: Vec<Value>, r: &Reader) -> Result<(), PickleError> {
        if items.len() % 2 != 0 {
            return Err(r.bad("SETITEMS with an odd number of items"));
        }
        Self::shallow(&items, r)?;
        match self.stack.last_mut() {
            Some(Value::Dict(d)) => {
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    d.push((k, v));
                }
            }
            Some(Value::Object) => {}
            _ => return Err(r.bad("SETITEM on something not a dict")),
        }
        Ok(())
    }

    /// REDUCE / NEWOBJ: the functions a state_dict needs, interpreted; any other class an
    /// opaque object.
    fn call(&mut self, f: Value, args: Value, r: &Reader) -> Result<Value, PickleError> {
        let Value::Global(name) = f else {
            return Err(r.bad("REDUCE of something not a GLOBAL"));
        };
        let Value::Tuple(mut args) = args else {
            return Err(r.bad("REDUCE without an argument tuple"));
        };
        match name.as_str() {
            "collections.OrderedDict" | "builtins.dict" => Ok(Value::Dict(Vec::new())),
            "torch._utils._rebuild_tensor_v2" => rebuild_tensor(&args, r),
            "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state"
                if !args.is_empty() =>
            {
                Ok(args.swap_remove(0))
            }
            _ => {
                if !self.objects.contains(&name) {
                    self.objects.push(name.clone());
                }
                Ok(Value::Object)
            }
        }
    }
}

/// LONG1: a little-endian two's-complement integer of `b.len()` bytes (at most 8 here).
fn long1(b: &[u8], r: &Reader) -> Result<i64, PickleError> {
    if b.len() > 8 {
        return Err(r.bad("an integer wider than 64 bits"));
    }
    let mut v: i64 = 0;
    for (i, &x) in b.iter().enumerate() {
        v |= (x as i64) << (8 * i);
    }
    if let Some(&last) = b.last() {
        if last & 0x80 != 0 && b.len() < 8 {
            v -= 1i64 << (8 * b.len());
        }
    }
    Ok(v)
}

/// The tch kind of a `torch.<Name>Storage` class.
fn storage_kind(class: &str) -> Option<Kind> {
    Some(match class.strip_prefix("torch.")? {
        "FloatStorage" => Kind::Float,
        "DoubleStorage" => Kind::Double,
        "HalfStorage" => Kind::Half,
        "BFloat16Storage" => Kind::BFloat16,
        "LongStorage" => Kind::Int64,
        "IntStorage" => Kind::Int,
        "ShortStorage" => Kind::Int16,
        "CharStorage" => Kind::Int8,
        "ByteStorage" => Kind::Uint8,
        "BoolStorage" => Kind::Bool,
        _ => return None,
    })
}

/// BINPERSID of `('storage', torch.<Kind>Storage, key, location, numel)`.
fn persistent(pid: Value, r: &Reader) -> Result<Value, PickleError> {
    let Value::Tuple(t) = pid else {
        return Err(r.bad("a persistent id that is not a tuple"));
    };
    match t.as_slice() {
        [Value::Str(tag), Value::Global(class), Value::Str(key), _, Value::Int(numel)]
            if tag == "storage" && *numel >= 0 =>
        {
            let kind = storage_kind(class)
                .ok_or_else(|| r.bad(&format!("storage of unsupported type {class}")))?;
            Ok(Value::Storage {
                key: key.clone(),
                kind,
                numel: *numel as u64,
            })
        }
        _ => Err(r.bad("a persistent id that is not a storage")),
    }
}

fn ints(v: &Value, r: &Reader) -> Result<Vec<i64>, PickleError> {
    let Value::Tuple(items) = v else {
        return Err(r.bad("a size or stride that is not a tuple"));
    };
    items
        .iter()
        .map(|x| match x {
            Value::Int(i) => Ok(*i),
            _ => Err(r.bad("a size or stride that is not an integer")),
        })
        .collect()
}

/// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, meta])`.
fn rebuild_tensor(args: &[Value], r: &Reader) -> Result<Value, PickleError> {
    let [Value::Storage { key, kind, numel }, Value::Int(offset), size, stride, ..] = args else {
        return Err(r.bad("_rebuild_tensor_v2 with unexpected arguments"));
    };
    let (size, stride) = (ints(size, r)?, ints(stride, r)?);
    if size.len() != stride.len() || size.iter().any(|&n| n < 0) {
        return Err(r.bad("_rebuild_tensor_v2 with a bad size or stride"));
    }
    Ok(Value::Tensor(TensorRef {
        key: key.clone(),
        kind: *kind,
        numel: *numel,
        offset: *offset,
        size,
        stride,
    }))
}

/// Every tensor reachable from `v` through dicts, lists and tuples, with the keys (list
/// indices as numbers) leading to it.
pub(crate) fn tensors_in(
    v: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, TensorRef)>,
) {
    match v {
        Value::Tensor(t) => out.push((path.clone(), t.clone())),
        Value::Dict(items) => {
            for (k, x) in items {
                path.push(match k {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => "?".to_string(),
                });
                tensors_in(x, path, out);
                path.pop();
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (i, x) in items.iter().enumerate() {
                path.push(i.to_string());
                tensors_in(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Result<Unpickled, PickleError> {
        Machine::default().run(bytes)
    }

    #[test]
    fn a_memo_bomb_and_deep_nesting_are_refused() {
        // ] PUT 0, then 40 times: GET 0, GET 0, TUPLE2, PUT 0: 2^40 values if copied.
        let mut bomb = b"\x80\x02]q\x00".to_vec();
        for _ in 0..40 {
            bomb.extend_from_slice(b"0h\x00h\x00\x86q\x00");
        }
        bomb.push(b'.');
        let e = run(&bomb).err().expect("refused");
        assert!(e.to_string().contains("pickle bomb"), "{e}");
        // 100 lists, each appended into the one below it.
        let mut deep = b"\x80\x02".to_vec();
        deep.extend(std::iter::repeat_n(b']', 100));
        deep.extend(std::iter::repeat_n(b'a', 99));
        deep.push(b'.');
        let e = run(&deep).err().expect("refused");
        assert!(e.to_string().contains("nested"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_are_an_error_or_a_value_never_a_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)
        ) {
            let _ = run(&bytes);
        }
    }

    #[test]
    fn long1_is_twos_complement() {
        let r = Reader { bytes: &[], at: 0 };
        assert_eq!(long1(&[0xff], &r).unwrap(), -1);
        assert_eq!(long1(&[0x00, 0x01], &r).unwrap(), 256);
        assert_eq!(long1(&[], &r).unwrap(), 0);
        assert!(long1(&[0; 9], &r).is_err());
    }

    #[test]
    fn an_ordered_dict_of_ints_decodes_in_order() {
        // pickle.dumps(collections.OrderedDict(b=1, a=300), protocol=2)
        let bytes = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00bq\x02K\x01X\x01\x00\x00\x00aq\x03M,\x01u.";
        let Value::Dict(d) = run(bytes).unwrap().value else {
            panic!("not a dict")
        };
        let keys: Vec<_> = d
            .iter()
            .map(|(k, v)| match (k, v) {
                (Value::Str(k), Value::Int(v)) => (k.clone(), *v),
                _ => panic!("{k:?} {v:?}"),
            })
            .collect();
        assert_eq!(keys, vec![("b".into(), 1), ("a".into(), 300)]);
    }

    #[test]
    fn unknown_classes_become_named_objects_and_hostile_bytes_are_errors() {
        let bytes = b"\x80\x02cargparse\nNamespace\n)R}b.";
        let u = run(bytes).unwrap();
        assert!(matches!(u.value, Value::Object));
        assert_eq!(u.objects, vec!["argparse.Namespace".to_string()]);
        for bad in [
            &b"\x80\x02"[..],
            b"h\x07.",
            b"t.",
            b"\x80\x02i.",
            b"X\xff\xff\xff\xff",
        ] {
            assert!(
                matches!(run(bad), Err(PickleError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }
}
