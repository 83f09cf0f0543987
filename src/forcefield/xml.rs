//! Reader for OpenMM's serialized `System` XML (`XmlSerializer.serialize`).
